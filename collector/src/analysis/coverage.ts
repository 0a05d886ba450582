/**
 * Instrumentation coverage: what each service's spans let the verdicts see, and which verdicts
 * it makes `unknown` — the list of what to instrument next. The stores count per (service,
 * endpoint) in one SQL aggregate (`CoverageRow`); this sums them per service, turns counts
 * into shares, and names the missing evidence in the words of the flow ledger.
 *
 * Which gap makes which invariant unknown (as the ledger judges a flow):
 * - attempts without an outcome       → noDuplicateProcessing (a processing and a skipped
 *                                        duplicate cannot be told apart) and, when the service
 *                                        sends, noGhost (whether the sending attempt committed)
 * - sends or attempts without an id   → noLost (a delivery cannot be matched to its send)
 * - sends without a body digest       → consistentOutput (resent content cannot be compared)
 * - spans lost at export             → noLost and noDuplicateProcessing (a missing delivery or
 *   (holes in the export numbers)        a second processing may be among them; export-losses.ts)
 * Commit markers are reported as a share: without them premature publishes and late outbox
 * dispatches cannot be seen, but no invariant's verdict depends on them alone.
 */
import type { Coverage, EndpointCoverage, ServiceCoverage, UnknownVerdict } from '../contract/index.js';
import type { CoverageRow, ExportSequenceRow } from '../store/span-store.js';
import { findExportLosses } from './export-losses.js';

export type CoverageCounts = Omit<CoverageRow, 'service' | 'endpoint'>;
type Counts = CoverageCounts;

const COUNT_KEYS = [
  'spans',
  'withMessageId',
  'withConversation',
  'sends',
  'sendsWithMessageId',
  'sendsWithDigest',
  'attempts',
  'attemptsWithMessageId',
  'attemptsWithOutcome',
  'processed',
  'processedWithCommit',
] as const satisfies readonly (keyof Counts)[];

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function addCounts(into: Counts, row: Counts): void {
  for (const key of COUNT_KEYS) into[key] += row[key];
}

/** Every count 0 (a sum's start). */
export function zeroCounts(): Counts {
  return Object.fromEntries(COUNT_KEYS.map((key) => [key, 0])) as Counts;
}

function endpointCoverage(row: CoverageRow): EndpointCoverage {
  return {
    endpoint: row.endpoint,
    attempts: row.attempts,
    attemptsWithMessageId: row.attemptsWithMessageId,
    attemptsWithOutcome: row.attemptsWithOutcome,
    processed: row.processed,
    processedWithCommit: row.processedWithCommit,
    outcomeShare: share(row.attemptsWithOutcome, row.attempts),
    commitShare: share(row.processedWithCommit, row.processed),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The verdicts a service's missing evidence makes unknown, in the ledger's invariant order. */
export function unknownVerdictsOf(counts: Counts): UnknownVerdict[] {
  const verdicts: UnknownVerdict[] = [];
  const outcomeless = counts.attempts - counts.attemptsWithOutcome;
  if (outcomeless > 0) {
    const of = `${outcomeless} of ${plural(counts.attempts, 'attempt')} ${outcomeless === 1 ? 'records' : 'record'} no outcome`;
    verdicts.push({ invariant: 'noDuplicateProcessing', reason: `${of}: a processing and a skipped duplicate cannot be told apart` });
    if (counts.sends > 0)
      verdicts.push({ invariant: 'noGhost', reason: `${of}: whether an attempt that sent messages committed is not known` });
  }
  const unidentified = [
    [counts.sends - counts.sendsWithMessageId, counts.sends, 'send'],
    [counts.attempts - counts.attemptsWithMessageId, counts.attempts, 'attempt'],
  ] as const;
  const missingIds = unidentified.filter(([missing]) => missing > 0).map(([missing, all, what]) => `${missing} of ${plural(all, what)}`);
  if (missingIds.length > 0) {
    verdicts.push({
      invariant: 'noLost',
      reason: `${missingIds.join(' and ')} ${missingIds.length === 1 && missingIds[0].startsWith('1 of') ? 'carries' : 'carry'} no message id: a delivery cannot be matched to its send`,
    });
  }
  const undigested = counts.sends - counts.sendsWithDigest;
  if (undigested > 0) {
    verdicts.push({
      invariant: 'consistentOutput',
      reason: `${undigested} of ${plural(counts.sends, 'send')} ${undigested === 1 ? 'carries' : 'carry'} no body digest: resent content cannot be compared`,
    });
  }
  return verdicts;
}

/** What export numbering shows of a service: spans received numbered, and numbers never received. */
export interface ExportCounts {
  numbered: number;
  lost: number;
}

/** The verdicts spans lost at export make unknown. */
export function exportLossVerdicts({ numbered, lost }: ExportCounts): UnknownVerdict[] {
  if (lost === 0) return [];
  const what = `${plural(lost, 'span')} lost at export (${lost} of ${numbered + lost} numbered)`;
  const fix = 'check the exporter, its queue and the pipeline to the collector';
  return [
    { invariant: 'noDuplicateProcessing', reason: `${what}: a second processing may be among them; ${fix}` },
    { invariant: 'noLost', reason: `${what}: a delivery may be among them; ${fix}` },
  ];
}

/** One entry per invariant, in the ledger's order: reasons of the same invariant are joined. */
function mergeVerdicts(verdicts: UnknownVerdict[]): UnknownVerdict[] {
  const merged = new Map<UnknownVerdict['invariant'], string[]>();
  for (const verdict of verdicts) merged.set(verdict.invariant, [...(merged.get(verdict.invariant) ?? []), verdict.reason]);
  const order = ['noDuplicateProcessing', 'noGhost', 'noLost', 'consistentOutput'] as const;
  return order.filter((invariant) => merged.has(invariant)).map((invariant) => ({ invariant, reason: merged.get(invariant)!.join('; ') }));
}

/** Numbered spans received and lost per service, from `exportSequences` rows. */
export function exportCountsOf(rows: readonly ExportSequenceRow[]): Map<string, ExportCounts> {
  const counts = new Map<string, ExportCounts>();
  const of = (service: string) => counts.get(service) ?? counts.set(service, { numbered: 0, lost: 0 }).get(service)!;
  for (const row of rows) of(row.service).numbered += row.received;
  for (const loss of findExportLosses(rows)) of(loss.service).lost += loss.missing;
  return counts;
}

/**
 * Rows of `coverageAggregates` (and of `exportSequences` over the same window) → coverage per
 * service, with its endpoints and unknown verdicts.
 */
export function shapeCoverage(
  rows: CoverageRow[],
  window: { fromMs: number; toMs: number },
  exportRows: readonly ExportSequenceRow[] = [],
): Coverage {
  const exportCounts = exportCountsOf(exportRows);
  const byService = new Map<string, { counts: Counts; endpoints: EndpointCoverage[] }>();
  for (const row of rows) {
    let entry = byService.get(row.service);
    if (!entry) byService.set(row.service, (entry = { counts: zeroCounts(), endpoints: [] }));
    addCounts(entry.counts, row);
    if (row.endpoint !== '' && row.attempts > 0) entry.endpoints.push(endpointCoverage(row));
  }
  const services = [...byService].map(([service, { counts, endpoints }]): ServiceCoverage => {
    const exported = exportCounts.get(service) ?? { numbered: 0, lost: 0 };
    return {
      service,
      ...counts,
      messageIdShare: share(counts.withMessageId, counts.spans),
      conversationShare: share(counts.withConversation, counts.spans),
      messagingIdentityShare: share(counts.sendsWithMessageId + counts.attemptsWithMessageId, counts.sends + counts.attempts),
      digestShare: share(counts.sendsWithDigest, counts.sends),
      outcomeShare: share(counts.attemptsWithOutcome, counts.attempts),
      commitShare: share(counts.processedWithCommit, counts.processed),
      numberedSpans: exported.numbered,
      lostAtExport: exported.lost,
      exportLossShare: exported.numbered > 0 ? exported.lost / (exported.numbered + exported.lost) : null,
      endpoints: endpoints.sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
      unknownVerdicts: mergeVerdicts([...unknownVerdictsOf(counts), ...exportLossVerdicts(exported)]),
    };
  });
  services.sort((a, b) => b.unknownVerdicts.length - a.unknownVerdicts.length || a.service.localeCompare(b.service));
  return { fromMs: window.fromMs, toMs: window.toMs, services };
}
