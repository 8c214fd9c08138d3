import { describe, expect, it } from 'vitest';
import type { AgentTool } from '../src/platform/agent-tools';
import type { McpConnector } from '../src/platform/mcp/mcp-connector';
import { appToolName, assembleRunTools } from './run-tools';
import { RunFailure } from './run-failure';

const builtin = (name: string): AgentTool => ({ name, description: name, inputSchema: { type: 'object' }, execute: async () => null });
const tool = (name: string) => ({ name, title: null, description: null, inputSchema: { type: 'object' }, annotations: null, firstSeenAt: '', lastSeenAt: '', stale: false });
const noMcp = {} as McpConnector;

describe('run tools', () => {
  it('names app tools <slug>__<tool> in the API alphabet, at most 64 characters', () => {
    expect(appToolName('crm', 'search', new Set())).toBe('crm__search');
    expect(appToolName('crm', 'find.people v2', new Set())).toBe('crm__find_people_v2');
    expect(appToolName('a', 'x'.repeat(100), new Set())).toHaveLength(64);
  });

  it('resolves collisions with a numeric suffix, deterministically', () => {
    const { tools } = assembleRunTools({
      builtins: [builtin('crm__a_b')],
      wanted: ['crm__a_b'],
      apps: [
        { slug: 'crm', url: 'https://x', auth: { type: 'none' }, tools: [tool('a.b'), tool('a b')] },
      ],
      mcp: noMcp,
      remainingMs: () => 1_000,
    });
    expect([...tools.keys()]).toEqual(['crm__a_b', 'crm__a_b_2', 'crm__a_b_3']);
  });

  it('a config naming a tool that does not exist is a config_error', () => {
    expect(() => assembleRunTools({ builtins: [], wanted: ['missing'], apps: [], mcp: noMcp, remainingMs: () => 1 })).toThrow(RunFailure);
  });
});
