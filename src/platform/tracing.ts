import { ProxyTracerProvider, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * OpenTelemetry traces (DESIGN §6): exported over OTLP/HTTP when an endpoint is configured, and a
 * no-op tracer otherwise, so instrumented code never checks whether tracing is on. The tracer is
 * handed to what needs it; nothing is registered globally, so libraries' own instrumentation
 * (the Anthropic SDK's) stays off and spans are ours alone.
 */
export type Tracing = {
  tracer: Tracer;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
};

const TRACER_NAME = 'runlane';

export function createTracing(options: { endpoint?: string; serviceName: string; serviceVersion: string }): Tracing {
  if (!options.endpoint) {
    // A proxy provider with no delegate hands out the API's no-op tracer.
    const tracer = new ProxyTracerProvider().getTracer(TRACER_NAME);
    return { tracer, flush: async () => {}, shutdown: async () => {} };
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` }) })],
  });
  return {
    tracer: provider.getTracer(TRACER_NAME, options.serviceVersion),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
