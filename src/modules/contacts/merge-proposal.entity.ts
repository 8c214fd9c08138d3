import { defineEntity, type InferEntity } from '@mikro-orm/core';

export type MergeProposalStatus = 'proposed' | 'accepted' | 'rejected';

/** A suggestion that two contacts are the same person; the pair is stored ordered, contactA < contactB. */
export const MergeProposalSchema = defineEntity({
  name: 'MergeProposal',
  tableName: 'merge_proposals',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    /** The agent run that proposed it; null when proposed outside a run. */
    runId: p.uuid().nullable(),
    contactA: p.uuid(),
    contactB: p.uuid(),
    reason: p.text(),
    /** numeric(4, 3): three decimals, 0..1. */
    confidence: p.decimal('number').precision(4).scale(3),
    status: p.text().$type<MergeProposalStatus>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
});

export type MergeProposal = InferEntity<typeof MergeProposalSchema>;
