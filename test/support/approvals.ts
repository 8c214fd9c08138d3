import { inTenantSql } from '../../src/db/tenant-transaction';
import { SCOPES } from '../../src/modules/accounts/scopes';
import { requestApprovalIn, type Approval, type ApprovalRequest } from '../../src/modules/approvals/approval';
import type { TestServer } from './app';

/**
 * A run paused on a tool call, as a worker leaves it: queued, then moved to `waiting` in the
 * transaction that records its approval. The tenant needs a `custom` agent config.
 */
export async function pausedToolCall(
  server: TestServer,
  tenantId: string,
  request: Partial<Omit<ApprovalRequest, 'runId'>> = {},
): Promise<Approval> {
  const actor = { tenantId, name: 'test', scopes: new Set<string>(SCOPES) };
  const { run } = await server.app.services.runs.enqueue(actor, 'custom', { input: { prompt: 'send the report' } });
  return inTenantSql(server.app.orm, tenantId, async (sql) => {
    await sql.execute(`update agent_runs set status = 'waiting', updated_at = now() where id = ?`, [run.id]);
    const { approval } = await requestApprovalIn(sql, tenantId, {
      runId: run.id,
      stepSeq: 2,
      tool: 'email.send',
      toolUseId: 'toolu_01',
      input: { to: 'ops@example.com', subject: 'Report' },
      ruleIndex: 0,
      reason: '"email.send" needs approval',
      onReject: 'fail',
      expiresAt: null,
      costSoFarUsdCents: 1.25,
      ...request,
    });
    return approval;
  });
}
