/**
 * The contract between the agent loop (worker/) and whatever offers it tools: a blueprint's
 * built-in tools (contacts), a tenant's app tools (MCP), workspace actions. Modules implement it;
 * the loop knows nothing else about them.
 */
export interface ToolContext {
  tenantId: string;
  runId: string;
  /** This call's journal position (`<runId>:<seq>`): the same across replays of the call. */
  callId: string;
  /** Aborts on cancel, deadline or lost lease; long tools must honour it. */
  signal: AbortSignal;
}

export interface AgentTool {
  /** Unique within a run, [a-zA-Z0-9_-]{1,64} (the Messages API's rule). */
  name: string;
  description: string;
  /** JSON Schema (type object) passed to the model. */
  inputSchema: Record<string, unknown>;
  /**
   * Returns JSON-serialisable output. Throw ToolInputError for a problem the model should see and
   * may correct (bad arguments); anything else is a tool failure.
   */
  execute(input: Record<string, unknown>, context: ToolContext): Promise<unknown>;
}

/** A tool result the model receives as `is_error`, so it can try again differently. */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}
