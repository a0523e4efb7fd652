import {
  type BatchDocument,
  countResources,
  isBatchDue,
  isBatchId,
  isInterrupted,
  type LedgerCount,
  ledgerIdOf,
  mayBeDue,
  planCancel,
  planEndedIncrements,
  SOURCE_SILENCE_LIMIT_MS,
  viewBatch,
} from '../../../lib/batches/model';

const ID = '6f1d7c1e-0000-4000-8000-000000000001';
const CREATED = new Date('2026-11-22T23:00:00.000Z');
const NOW = new Date('2026-11-22T23:05:00.000Z');

const batch = (overrides: Partial<BatchDocument> = {}): BatchDocument => ({
  _id: ID,
  origin: 'extract',
  state: 'running',
  sealed: true,
  extracted: { 'mimic-patient': 3, 'mimic-condition': 2 },
  createdAt: CREATED,
  updatedAt: CREATED,
  ...overrides,
});

const counts = (
  entries: [string, 'transformed' | 'loaded' | 'failed' | 'dropped', number][],
): LedgerCount[] =>
  entries.map(([mapping, what, count]) =>
    what === 'transformed'
      ? { batchId: ID, mapping, stage: 'transformed', count }
      : { batchId: ID, mapping, stage: 'done', outcome: what, count },
  );

describe('countResources', () => {
  it('puts extracted and ledger counts side by side per mapping, sorted', () => {
    expect(
      countResources(
        batch(),
        counts([
          ['mimic-patient', 'transformed', 3],
          ['mimic-patient', 'loaded', 2],
          ['mimic-patient', 'failed', 1],
          ['mimic-condition', 'dropped', 1],
        ]),
      ),
    ).toEqual([
      { resource: 'mimic-condition', extracted: 2, transformed: 0, loaded: 0, failed: 0, dropped: 1 },
      { resource: 'mimic-patient', extracted: 3, transformed: 3, loaded: 2, failed: 1, dropped: 0 },
    ]);
  });

  it('ignores counts of other batches', () => {
    const other: LedgerCount = {
      batchId: 'other',
      mapping: 'mimic-patient',
      stage: 'done',
      outcome: 'loaded',
      count: 9,
    };
    expect(countResources(batch({ extracted: {} }), [other])).toEqual([]);
  });
});

describe('isBatchDue', () => {
  const ended = counts([
    ['mimic-patient', 'loaded', 2],
    ['mimic-patient', 'failed', 1],
    ['mimic-condition', 'loaded', 2],
  ]);

  it('completes a sealed batch once loaded + failed reach extracted for every resource', () => {
    expect(isBatchDue(batch(), countResources(batch(), ended))).toBe(true);
  });

  it('counts failures: a batch with rejected rows does not hang', () => {
    const failedOnly = counts([
      ['mimic-patient', 'failed', 3],
      ['mimic-condition', 'failed', 2],
    ]);
    expect(isBatchDue(batch(), countResources(batch(), failedOnly))).toBe(true);
  });

  it('waits while one resource is short', () => {
    const short = counts([
      ['mimic-patient', 'loaded', 3],
      ['mimic-condition', 'loaded', 1],
    ]);
    expect(isBatchDue(batch(), countResources(batch(), short))).toBe(false);
  });

  it('waits for the seal: a source still publishing may extract more', () => {
    expect(isBatchDue(batch({ sealed: false }), countResources(batch(), ended))).toBe(false);
  });

  it('completes a sealed batch that extracted nothing', () => {
    expect(isBatchDue(batch({ extracted: {} }), [])).toBe(true);
  });

  it('never completes a cancelled or completed batch again', () => {
    expect(isBatchDue(batch({ state: 'cancelled' }), countResources(batch(), ended))).toBe(false);
    expect(isBatchDue(batch({ state: 'completed' }), countResources(batch(), ended))).toBe(false);
  });

  it('completes when a duplicate raw record pushed the ends past extracted', () => {
    const extra = counts([
      ['mimic-patient', 'loaded', 4],
      ['mimic-condition', 'loaded', 2],
    ]);
    expect(isBatchDue(batch(), countResources(batch(), extra))).toBe(true);
  });
});

describe('viewBatch', () => {
  it('shows a due batch as completed with totals and ISO timestamps', () => {
    const view = viewBatch(
      batch({ sealedAt: CREATED }),
      counts([
        ['mimic-patient', 'transformed', 2],
        ['mimic-patient', 'loaded', 2],
        ['mimic-patient', 'failed', 1],
        ['mimic-condition', 'transformed', 2],
        ['mimic-condition', 'loaded', 2],
      ]),
      NOW,
    );
    expect(view).toMatchObject({
      id: ID,
      origin: 'extract',
      state: 'completed',
      totals: { extracted: 5, transformed: 4, loaded: 4, failed: 1, dropped: 0 },
      createdAt: CREATED.toISOString(),
      sealedAt: CREATED.toISOString(),
      completedAt: NOW.toISOString(),
    });
  });

  it('keeps a running batch running, without completedAt', () => {
    const view = viewBatch(batch(), [], NOW);
    expect(view.state).toBe('running');
    expect(view.completedAt).toBeUndefined();
  });
});

describe('planCancel', () => {
  it('cancels a running batch, accepts a cancelled one and refuses a completed one', () => {
    expect(planCancel('running')).toBe('cancel');
    expect(planCancel('cancelled')).toBe('already-cancelled');
    expect(planCancel('completed')).toBe('conflict');
  });
});

describe('ids', () => {
  it('accepts UUIDs only as batch ids', () => {
    expect(isBatchId(ID)).toBe(true);
    expect(isBatchId('../etc')).toBe(false);
  });

  it('makes one ledger id per batch, stage and raw record', () => {
    expect(ledgerIdOf(ID, 'done', 'raw.mimic-patient/0/4')).toBe(`${ID}|done|raw.mimic-patient/0/4`);
    expect(ledgerIdOf(ID, 'transformed', 'raw.mimic-patient/0/4')).not.toBe(
      ledgerIdOf(ID, 'done', 'raw.mimic-patient/0/4'),
    );
  });
});

describe('the ended hint', () => {
  it('sums newly inserted end entries per batch and mapping, ignoring transformed ones', () => {
    const increments = planEndedIncrements([
      { _id: 'a', batchId: ID, mapping: 'mimic-patient', stage: 'done', outcome: 'loaded' },
      { _id: 'b', batchId: ID, mapping: 'mimic-patient', stage: 'done', outcome: 'failed' },
      { _id: 'c', batchId: ID, mapping: 'mimic-condition', stage: 'transformed' },
    ]);
    expect([...increments]).toEqual([[ID, { 'mimic-patient': 2 }]]);
  });

  it('asks for an exact count only when a sealed running batch may be due', () => {
    expect(mayBeDue(batch({ ended: { 'mimic-patient': 3, 'mimic-condition': 2 } }))).toBe(true);
    expect(mayBeDue(batch({ ended: { 'mimic-patient': 3 } }))).toBe(false);
    expect(mayBeDue(batch({ sealed: false, ended: { 'mimic-patient': 3, 'mimic-condition': 2 } }))).toBe(
      false,
    );
    expect(mayBeDue(batch({ extracted: {} }))).toBe(true);
  });
});

describe('isInterrupted', () => {
  const at = (ms: number) => new Date(CREATED.getTime() + ms);

  it('is a running, unsealed batch its source has not touched for longer than a Lambda can run', () => {
    const open = batch({ sealed: false, sourcedAt: CREATED, updatedAt: at(SOURCE_SILENCE_LIMIT_MS) });
    expect(isInterrupted(open, at(SOURCE_SILENCE_LIMIT_MS))).toBe(false);
    // Records ending (updatedAt) do not keep it alive: only its source does.
    expect(isInterrupted(open, at(SOURCE_SILENCE_LIMIT_MS + 1))).toBe(true);
  });

  it('reads updatedAt on a batch stored before sourcedAt existed', () => {
    const old = batch({ sealed: false, updatedAt: CREATED });
    expect(isInterrupted(old, at(SOURCE_SILENCE_LIMIT_MS + 1))).toBe(true);
  });

  it('is never a sealed, cancelled or completed batch', () => {
    const late = at(SOURCE_SILENCE_LIMIT_MS * 2);
    expect(isInterrupted(batch({ sealed: true }), late)).toBe(false);
    expect(isInterrupted(batch({ sealed: false, state: 'cancelled' }), late)).toBe(false);
    expect(isInterrupted(batch({ sealed: false, state: 'completed' }), late)).toBe(false);
  });

  it('shows as interrupted in the view', () => {
    expect(viewBatch(batch({ interrupted: true }), [], NOW)).toMatchObject({ interrupted: true });
    expect(viewBatch(batch(), [], NOW)).not.toHaveProperty('interrupted');
  });
});
