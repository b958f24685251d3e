export { watchCounterGrowth } from './counter-growth.js';
export { MetricsErrorCode, metricsError } from './errors.js';
export {
  escapeHelp,
  escapeLabelValue,
  formatLabels,
  formatValue,
  type Labels,
  PROMETHEUS_CONTENT_TYPE,
} from './exposition.js';
export {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  MetricsRegistry,
  type MetricType,
} from './metrics-registry.js';
export {
  hasBearerToken,
  type MetricsServer,
  type MetricsServerOptions,
  serveMetrics,
  startMetricsServer,
} from './metrics-server.js';
export { type ParsedFamily, type ParsedSample, parsePrometheusText, sampleValue } from './parse.js';
