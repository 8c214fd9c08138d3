import type { AgentTool, ToolContext } from '../src/platform/agent-tools';
import { ToolInputError } from '../src/platform/agent-tools';
import type { McpConnector } from '../src/platform/mcp/mcp-connector';
import { McpError, type McpSession } from '../src/platform/mcp/mcp-client';
import type { RunnableApp } from '../src/modules/apps/app.service';
import { RunFailure } from './run-failure';

/** The Messages API's rule for tool names. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The tools of one run, by the name the model sees, and what to close when the run ends. */
export type RunTools = { tools: Map<string, AgentTool>; close(): Promise<void> };

/**
 * Names an app tool `<slug>__<tool>`, cleaned to the API's alphabet and cut to 64 characters;
 * a clash (with a built-in or another app tool) gets a numeric suffix, so every name is unique and
 * the same catalog always yields the same names (replay depends on it).
 */
export function appToolName(slug: string, tool: string, taken: ReadonlySet<string>): string {
  const base = `${slug}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    const candidate = base.slice(0, 64 - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Built-in tools of the blueprint (by name, from the registry) plus every enabled tool of the
 * tenant's healthy apps, called over MCP. One MCP session per app, opened on first use.
 */
export function assembleRunTools(options: {
  builtins: AgentTool[];
  wanted: readonly string[];
  apps: RunnableApp[];
  mcp: McpConnector;
  /** Time left for a tool call. */
  remainingMs: () => number;
}): RunTools {
  const tools = new Map<string, AgentTool>();
  const registry = new Map(options.builtins.map((t) => [t.name, t]));
  for (const name of options.wanted) {
    const tool = registry.get(name);
    if (!tool) throw new RunFailure('config_error', `The config names a tool that does not exist: ${name}`);
    if (!TOOL_NAME.test(name)) throw new RunFailure('config_error', `Tool name not allowed by the API: ${name}`);
    tools.set(name, tool);
  }
  const sessions = new Map<string, Promise<McpSession>>();
  for (const app of options.apps) {
    for (const discovered of app.tools) {
      const name = appToolName(app.slug, discovered.name, new Set(tools.keys()));
      tools.set(name, {
        name,
        description: [discovered.title, discovered.description].filter(Boolean).join(': ') || `${discovered.name} (app ${app.slug})`,
        inputSchema: { type: 'object', ...discovered.inputSchema },
        execute: async (input: Record<string, unknown>, context: ToolContext) => {
          const remainingMs = options.remainingMs();
          try {
            let session = sessions.get(app.slug);
            if (!session) {
              session = options.mcp.openSession(app.url, app.auth, { deadlineMs: remainingMs, signal: context.signal });
              sessions.set(app.slug, session);
              session.catch(() => sessions.delete(app.slug));
            }
            const result = await (await session).callTool(discovered.name, input, { deadlineMs: options.remainingMs(), signal: context.signal });
            // The server said the call failed: the model sees it and may try differently.
            if (result.isError) throw new ToolInputError(textOf(result.content) || 'The tool reported an error.');
            return result.structuredContent ?? result.content;
          } catch (err) {
            if (err instanceof ToolInputError || context.signal.aborted) throw err;
            if (err instanceof McpError && err.reason === 'timeout') throw new RunFailure('timeout', `Tool ${name} did not answer before the deadline.`);
            if (err instanceof McpError) throw new RunFailure('tool_failed', `Tool ${name} (app ${app.slug}) failed: ${err.message}`);
            throw err;
          }
        },
      });
    }
  }
  return {
    tools,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.then((session) => session.close()).catch(() => undefined)));
    },
  };
}

function textOf(content: unknown[]): string {
  return content
    .map((c) => (c && typeof c === 'object' && (c as { type?: unknown }).type === 'text' ? String((c as { text?: unknown }).text ?? '') : ''))
    .filter(Boolean)
    .join('\n')
    .slice(0, 4000);
}
