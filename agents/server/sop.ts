/** The Server agent's standard operating procedure, given to its brain with every decision. */
export const SERVER_SOP = [
  '1. Convert the trained model to ONNX (outputs label and probabilities; preprocessing in the graph or the repository).',
  '2. Check parity with the trained model on held-out rows: max |Δp| and label agreement within limits, or fail.',
  '3. Try reduced precision (INT8 on CPU, FP16 on GPU) behind the accuracy gate; keep FP32 and say why otherwise.',
  '4. Write the Triton model repository: config.pbtxt with dynamic batching and instance groups, model, labels, preprocessing.',
  '5. Benchmark the converted model: service time per batch size, concurrency sweep, saturation throughput, p50/p99, peak RSS.',
  '6. Estimate replicas, memory per replica and accelerator from the measurements and the QPS, latency and memory targets.',
  '7. Deploy (Triton Deployment, Service, HPA in a cluster; the local KServe v2 server otherwise) and check readiness.',
  '8. Write the OpenAPI 3.1 document and a short guide with the real model name, input, labels and examples.',
].join('\n');
