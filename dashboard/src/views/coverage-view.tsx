/**
 * Coverage: per service and endpoint, how much of what it emits carries the evidence the
 * verdicts need (message identity, outcomes, commit markers, body digests), and which verdicts
 * its gaps make unknown — what to instrument next. Services making the most unknown come first.
 */
import { Fragment } from 'react';
import { Empty, ErrorState, Loading } from '../components/status.js';
import { useCoverage } from '../hooks/use-api.js';
import { useTimeWindow } from '../hooks/use-time-window.js';
import { INVARIANT_LABELS, exportLossLevel, formatShare, shareLevel } from '../model/coverage.js';
import { formatCount } from '../model/format.js';

function Share({ share, title }: { share: number | null; title?: string }) {
  return (
    <td className={`num share-${shareLevel(share).replace('/', '')}`} title={title}>
      {formatShare(share)}
    </td>
  );
}

export function CoverageView() {
  const { timeWindow } = useTimeWindow();
  const coverage = useCoverage(timeWindow);

  if (coverage.isPending) return <Loading what="coverage" />;
  if (coverage.isError && !coverage.data) return <ErrorState error={coverage.error} what="coverage" />;
  const services = coverage.data.services;
  if (services.length === 0) return <Empty>No spans in this window.</Empty>;
  return (
    <div className="page">
      <section className="panel">
        <h2>Instrumentation coverage</h2>
        <p className="muted">
          Shares of each service&apos;s spans that carry what the exactly-once verdicts rest on. A gap makes verdicts <em>unknown</em>,
          never violated: the services at the top are the ones to instrument next.
        </p>
        <table className="table coverage">
          <thead>
            <tr>
              <th>Service / endpoint</th>
              <th className="num">Spans</th>
              <th className="num" title="Sends and attempts carrying a message id">
                Message identity
              </th>
              <th className="num" title="Attempts recording an outcome (processed, duplicate, failed, …)">
                Outcomes
              </th>
              <th className="num" title="Processed attempts recording when they committed">
                Commit markers
              </th>
              <th className="num" title="Sends recording a digest of their body">
                Body digests
              </th>
              <th className="num" title="Numbered spans (onceflow.export.seq) that never arrived: lost between the SDK and the store">
                Lost at export
              </th>
              <th>Verdicts made unknown</th>
            </tr>
          </thead>
          <tbody>
            {services.map((service) => (
              <Fragment key={service.service}>
                <tr className={service.unknownVerdicts.length > 0 ? 'severity-warning' : undefined}>
                  <td>
                    <strong>{service.service}</strong>
                  </td>
                  <td className="num">{formatCount(service.spans)}</td>
                  <Share share={service.messagingIdentityShare} />
                  <Share share={service.outcomeShare} title={`${service.attemptsWithOutcome} of ${service.attempts} attempts`} />
                  <Share share={service.commitShare} title={`${service.processedWithCommit} of ${service.processed} processed attempts`} />
                  <Share share={service.digestShare} title={`${service.sendsWithDigest} of ${service.sends} sends`} />
                  <td
                    className={`num share-${exportLossLevel(service.exportLossShare).replace('/', '')}`}
                    title={
                      service.exportLossShare === null
                        ? 'its spans carry no export numbers (not instrumented with Onceflow)'
                        : `${service.lostAtExport} of ${service.numberedSpans + service.lostAtExport} numbered spans`
                    }
                  >
                    {service.exportLossShare === null ? '–' : formatShare(service.exportLossShare)}
                  </td>
                  <td>
                    {service.unknownVerdicts.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      <ul className="unknown-verdicts">
                        {service.unknownVerdicts.map((verdict) => (
                          <li key={verdict.invariant}>
                            <strong>{INVARIANT_LABELS[verdict.invariant]}</strong>: {verdict.reason}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
                {service.endpoints.map((endpoint) => (
                  <tr key={`${service.service}\u0000${endpoint.endpoint}`} className="coverage-endpoint">
                    <td className="mono">↳ {endpoint.endpoint}</td>
                    <td className="num">
                      {formatCount(endpoint.attempts)} {endpoint.attempts === 1 ? 'attempt' : 'attempts'}
                    </td>
                    <Share share={endpoint.attempts > 0 ? endpoint.attemptsWithMessageId / endpoint.attempts : null} />
                    <Share share={endpoint.outcomeShare} />
                    <Share share={endpoint.commitShare} />
                    <td />
                    <td />
                    <td />
                  </tr>
                ))}
              </Fragment>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
