// A Node.js service traced with the OpenTelemetry JS SDK, exporting OTLP/HTTP JSON (the JS
// exporter's default) to the URL given: `node service.mjs URL`. It handles one request with a
// nested trace (a database call, then an LLM call described with OpenLLMetry's attributes)
// and prints the trace id.
import { context, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "node-orders" }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.argv[2] }))],
});
provider.register();
const tracer = trace.getTracer("orders-service", "1.0.0");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function handle(orderId) {
  return tracer.startActiveSpan("GET /orders/:id", { kind: SpanKind.SERVER }, async (root) => {
    root.setAttribute("http.route", "/orders/:id");
    root.setAttribute("traceloop.span.kind", "workflow");
    root.setAttribute("traceloop.entity.input", JSON.stringify({ order_id: orderId }));
    await tracer.startActiveSpan("db.query", async (db) => {
      db.setAttribute("db.statement", "SELECT * FROM orders WHERE id = $1");
      await sleep(5);
      db.end();
    });
    const answer = await tracer.startActiveSpan("openai.chat", { kind: SpanKind.CLIENT }, async (llm) => {
      llm.setAttribute("llm.request.type", "chat");
      llm.setAttribute("gen_ai.system", "openai");
      llm.setAttribute("gen_ai.request.model", "gpt-4o");
      llm.setAttribute("gen_ai.prompt.0.role", "user");
      llm.setAttribute("gen_ai.prompt.0.content", `Where is order ${orderId}?`);
      llm.setAttribute("gen_ai.completion.0.role", "assistant");
      llm.setAttribute("gen_ai.completion.0.content", "It ships tomorrow.");
      llm.setAttribute("gen_ai.completion.0.finish_reason", "stop");
      llm.setAttribute("gen_ai.usage.prompt_tokens", 11);
      llm.setAttribute("gen_ai.usage.completion_tokens", 4);
      await sleep(5);
      llm.end();
      return "It ships tomorrow.";
    });
    root.setAttribute("traceloop.entity.output", JSON.stringify({ answer }));
    root.setStatus({ code: SpanStatusCode.OK });
    const traceId = root.spanContext().traceId;
    root.end();
    return traceId;
  });
}

const traceId = await handle("o-42");
await provider.forceFlush();
await provider.shutdown();
console.log(traceId);
