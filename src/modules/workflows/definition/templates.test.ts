import { describe, expect, it } from 'vitest';
import { checkTemplate, evaluateWhen, isTruthy, renderTemplate, renderValue, templateContext, TemplateError } from './templates';

const context = templateContext(
  { name: 'World', count: 3, tags: ['a', 'b'], flag: false, empty: '', nothing: null },
  { 'say-hello': { greeting: 'Hello World', items: [{ id: 7 }] }, plain: 'text' },
);

describe('renderTemplate', () => {
  it('replaces paths, step outputs by their snake names, and array indexes', () => {
    expect(renderTemplate('Hi {{ input.name }}!', context)).toBe('Hi World!');
    expect(renderTemplate('{{say_hello.output.greeting}}', context)).toBe('Hello World');
    expect(renderTemplate('{{ say_hello.output.items.0.id }} {{ input.tags[1] }} {{ say_hello.output["greeting"] }}', context)).toBe('7 b Hello World');
  });

  it('stringifies non-strings in mixed text: numbers, booleans, null as empty, objects as JSON', () => {
    expect(renderTemplate('n={{ input.count }} f={{ input.flag }} z={{ input.nothing }}', context)).toBe('n=3 f=false z=');
    expect(renderTemplate('o={{ say_hello.output.items }}', context)).toBe('o=[{"id":7}]');
  });

  it('applies filters', () => {
    expect(renderTemplate('{{ input.name | upper }} {{ input.name | lower }} [{{ "  x " | trim }}]', context)).toBe('WORLD world [x]');
    expect(renderTemplate('{{ input.missing | default(value="anon") }}', context)).toBe('anon');
    expect(renderTemplate('{{ input.nothing | default(value=5) }}', context)).toBe('5');
    expect(renderTemplate('{{ input.name | default(value="anon") | upper }}', context)).toBe('WORLD');
    expect(renderTemplate('{{ input.tags | json }} {{ input.tags | json_encode }}', context)).toBe('["a","b"] ["a","b"]');
    expect(renderTemplate('{{ input.tags | length }} {{ input.name | length }} {{ say_hello.output | length }}', context)).toBe('2 5 2');
  });

  it('evaluates comparisons and not / and / or', () => {
    expect(renderTemplate('{{ input.count == 3 }} {{ input.name != "World" }} {{ input.count > 2 }}', context)).toBe('true false true');
    expect(renderTemplate('{{ not input.flag }} {{ input.flag or input.count }} {{ input.flag and input.missing }}', context)).toBe('true true false');
    expect(renderTemplate('{{ not (input.count == 3 and input.name == "World") }}', context)).toBe('false');
  });

  it('leaves text outside expressions alone, drops comments, honours whitespace control', () => {
    expect(renderTemplate('a } b }} c { d', context)).toBe('a } b }} c { d');
    expect(renderTemplate('x{# note #}y', context)).toBe('xy');
    expect(renderTemplate('a   {{- input.name -}}   b', context)).toBe('aWorldb');
    expect(renderTemplate('{{ "}}" }}', context)).toBe('}}');
    expect(renderTemplate(`echo 'OUTPUT: {"n": {{ input.count }}}'`, context)).toBe(`echo 'OUTPUT: {"n": 3}'`);
  });

  it('refuses an undefined variable, naming the path and what is missing', () => {
    expect(() => renderTemplate('{{ input.nme }}', context)).toThrow(TemplateError);
    expect(() => renderTemplate('{{ input.nme }}', context)).toThrow('"input.nme" is not defined ("input" has no "nme")');
    expect(() => renderTemplate('{{ other.output }}', context)).toThrow(/"other" is not defined \(available: input, plain, say_hello\)/);
    expect(() => renderTemplate('{{ input.tags.5 }}', context)).toThrow(/has no "5"/);
    expect(() => renderTemplate('{{ not input.nope }}', context)).toThrow(TemplateError);
  });

  it('does not reach into object prototypes', () => {
    expect(() => renderTemplate('{{ input.constructor }}', context)).toThrow(TemplateError);
    expect(() => renderTemplate('{{ toString }}', context)).toThrow(TemplateError);
  });
});

describe('renderValue', () => {
  it('keeps the JSON type of a string that is exactly one expression', () => {
    expect(renderValue('{{ input.count }}', context)).toBe(3);
    expect(renderValue('{{ say_hello.output }}', context)).toEqual({ greeting: 'Hello World', items: [{ id: 7 }] });
    expect(renderValue('{{ input.nothing }}', context)).toBeNull();
    expect(renderValue('n={{ input.count }}', context)).toBe('n=3');
  });

  it('renders strings deep inside objects and arrays, leaving keys and other values alone', () => {
    const value = { '{{ input.name }}': ['{{ input.name }}', 1, true, null, { deep: 'x{{ input.count }}' }] };
    expect(renderValue(value, context)).toEqual({ '{{ input.name }}': ['World', 1, true, null, { deep: 'x3' }] });
  });
});

describe('when', () => {
  it('isTruthy follows the seed: "", false, 0, null, none are falsy, case-insensitively and trimmed', () => {
    for (const falsy of ['', ' ', 'false', 'FALSE', '0', 'null', 'None', ' none\n']) expect(isTruthy(falsy)).toBe(false);
    for (const truthy of ['true', '1', 'yes', 'no', '00', '[]', 'x']) expect(isTruthy(truthy)).toBe(true);
  });

  it('evaluateWhen renders then judges, and throws TemplateError on errors', () => {
    expect(evaluateWhen('{{ input.flag }}', context)).toBe(false);
    expect(evaluateWhen('{{ input.count }}', context)).toBe(true);
    expect(evaluateWhen('{{ input.empty }}', context)).toBe(false);
    expect(evaluateWhen('{{ input.nothing }}', context)).toBe(false);
    expect(evaluateWhen('{{ say_hello.output.greeting == "Hello World" }}', context)).toBe(true);
    expect(() => evaluateWhen('{{ input.undefined_flag }}', context)).toThrow(TemplateError);
  });
});

describe('checkTemplate', () => {
  it('collects the variable paths a template reads', () => {
    const { references } = checkTemplate('{{ input.a }} {{ step_one.output.x | default(value=input.b) }} {{ a.output.list[0] == "x" }}');
    expect(references).toEqual(['input.a', 'step_one.output.x', 'input.b', 'a.output.list.0']);
    expect(checkTemplate('plain text { }').references).toEqual([]);
  });

  it.each([
    ['{{ input.name', /unclosed \{\{/],
    ['{{ input.name }', /unclosed \{\{/],
    ['{{ a {{ b }}', /unclosed \{\{/],
    ['{{ }}', /empty expression/],
    ['{{ input.name | uper }}', /unknown filter "uper"/],
    ['{{ say-hello.output }}', /hyphens/],
    ['{{ input. }}', /expected a name after "\."/],
    ['{{ input.a input.b }}', /unexpected "input"/],
    ['{{ "abc }}', /unterminated string|unclosed/],
    ['{% if x %}y{% endif %}', /statements/],
    ['{# never closed', /unclosed comment/],
    ['{{ input.a | default }}', /default needs one argument/],
  ])('refuses %j', (text, message) => {
    expect(() => checkTemplate(text)).toThrow(TemplateError);
    expect(() => checkTemplate(text)).toThrow(message);
  });
});
