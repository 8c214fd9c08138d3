import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { connectionOf } from '../../graphql/connection';
import { entityId, optionalEntityId } from '../../graphql/ids';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import { RunRef } from '../runs/runs.schema';
import type { Approval } from './approval';
import { APPROVAL_DECISIONS, APPROVAL_STATUSES, type ApprovalService } from './approval.service';

declare module '../../platform/services' {
  interface Services {
    approvals: ApprovalService;
  }
}

// DESIGN §2 has no approvals:read: approvals are part of reading runs.
const read = { scope: 'runs:read' } as const;
const write = { scope: 'approvals:write' } as const;
const upper = (value: string) => value.toUpperCase() as never;
const lower = (value: unknown) => String(value).toLowerCase() as never;

const ApprovalStatusEnum = builder.enumType('ApprovalStatus', { values: APPROVAL_STATUSES.map((s) => s.toUpperCase()) as ['PENDING'] });
const ApprovalDecisionEnum = builder.enumType('ApprovalDecision', { values: APPROVAL_DECISIONS.map((s) => s.toUpperCase()) as ['APPROVE'] });
const OnRejectEnum = builder.enumType('ApprovalOnReject', {
  description: 'What a rejection does: fail the run, or tell the model the call was refused and go on.',
  values: ['FAIL', 'INFORM_MODEL'] as const,
});

registerNodeLoader('Approval', (ctx, id) => ctx.services.approvals.find(principalOf(ctx).tenantId, id));

export const ApprovalRef = builder.node(builder.objectRef<Approval>('Approval'), {
  description: 'A tool call an approval_gate rule paused until a person decides; the run waits meanwhile.',
  // A decider sees what it decided (decideApproval's payload) without holding runs:read.
  authScopes: (_approval, ctx) => ctx.principal?.scopes.has(write.scope) || read,
  id: { resolve: (a) => a.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    run: t.field({ type: RunRef, resolve: (a, _args, ctx) => ctx.services.runs.get(principalOf(ctx).tenantId, a.runId) }),
    stepSeq: t.exposeInt('stepSeq', { description: 'The journal position of the paused call.' }),
    tool: t.exposeString('tool'),
    input: t.field({ type: 'JSON', description: 'The arguments the model asked for.', resolve: (a) => a.input }),
    reason: t.exposeString('reason'),
    ruleIndex: t.exposeInt('ruleIndex', { description: 'Position of the approval_gate rule in the config’s guardrails.' }),
    onReject: t.field({ type: OnRejectEnum, resolve: (a) => upper(a.onReject) }),
    status: t.field({ type: ApprovalStatusEnum, resolve: (a) => upper(a.status) }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    costSoFarUsdCents: t.exposeFloat('costSoFarUsdCents', { description: 'The run’s cost when it paused, US cents.' }),
    decidedInput: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Arguments the approver substituted; null when approved as asked.',
      resolve: (a) => a.decidedInput,
    }),
    decisionNote: t.exposeString('decisionNote', { nullable: true }),
    decidedBy: t.exposeString('decidedBy', { nullable: true, description: 'The deciding account’s name, or "system:expiry".' }),
    decidedAt: t.expose('decidedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  approvals: t.connection(
    {
      type: ApprovalRef,
      authScopes: read,
      description: 'Newest first.',
      args: { status: t.arg({ type: ApprovalStatusEnum }) },
      resolve: async (_root, args, ctx) =>
        connectionOf(
          await ctx.services.approvals.list(principalOf(ctx).tenantId, {
            first: args.first,
            after: args.after,
            status: args.status ? lower(args.status) : null,
          }),
          args,
        ),
    },
    // DESIGN §1 names connections after their node.
    { name: 'ApprovalConnection' },
    { name: 'ApprovalEdge' },
  ),
  approval: t.field({
    type: ApprovalRef,
    nullable: true,
    authScopes: read,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      const uuid = optionalEntityId(String(id), 'Approval');
      return uuid ? ctx.services.approvals.find(principalOf(ctx).tenantId, uuid) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  decideApproval: t.field({
    type: ApprovalRef,
    authScopes: write,
    description: 'Approves (optionally with edited arguments) or rejects a pending approval; the run resumes on any worker.',
    args: {
      id: t.arg.id({ required: true }),
      decision: t.arg({ type: ApprovalDecisionEnum, required: true }),
      input: t.arg({ type: 'JSON', description: 'Replaces the model’s arguments (APPROVE only); a JSON object.' }),
      note: t.arg.string({ description: 'At most 2000 characters.' }),
    },
    errors: { types: [InputError, NotFoundError, ConflictError], directResult: true, union: { name: 'DecideApprovalResult' } },
    resolve: (_root, { id, decision, input, note }, ctx) =>
      ctx.services.approvals.decide(actorOf(principalOf(ctx)), entityId(String(id), 'Approval'), lower(decision), { input, note }),
  }),
}));
