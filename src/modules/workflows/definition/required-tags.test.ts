import { describe, expect, it } from 'vitest';
import { requiredTags } from './required-tags';
import type { ActionDef } from './types';

const action = (over: Partial<ActionDef>): ActionDef => ({ name: 'a', type: 'script', env: {}, tags: [], input: {}, ...over });

describe('requiredTags', () => {
  it('derives the tag from the type and runner as the seed does', () => {
    expect(requiredTags(action({ type: 'script' }))).toEqual(['script']);
    expect(requiredTags(action({ type: 'script', runner: 'local' }))).toEqual(['script']);
    expect(requiredTags(action({ type: 'script', runner: 'docker' }))).toEqual(['docker']);
    expect(requiredTags(action({ type: 'script', runner: 'pod' }))).toEqual(['kubernetes']);
    expect(requiredTags(action({ type: 'docker', image: 'alpine' }))).toEqual(['docker']);
    expect(requiredTags(action({ type: 'pod', image: 'alpine' }))).toEqual(['kubernetes']);
    expect(requiredTags(action({ type: 'agent', blueprint: 'writer' }))).toEqual([]);
  });

  it('adds the action’s own tags, deduplicated and sorted', () => {
    expect(requiredTags(action({ type: 'script', tags: ['gpu', 'script', 'arm64', 'gpu'] }))).toEqual(['arm64', 'gpu', 'script']);
    expect(requiredTags(action({ type: 'docker', tags: ['docker', 'big'] }))).toEqual(['big', 'docker']);
  });
});
