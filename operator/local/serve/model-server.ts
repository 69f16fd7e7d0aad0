import { isPythonBackendModel } from './python-backend/model-config.js';
import { startPythonBackendServer, type PythonServeOptions } from './python-backend/server.js';
import { startServer } from './server.js';

/** What every served model offers its callers: where it listens, and how to stop it. */
export interface ServedModel {
  url: string;
  close(): Promise<void>;
}

/**
 * Serve a model of a Triton repository over KServe v2, whatever runs it: a Python-backend model
 * (`backend: "python"`, e.g. an image generator) in Python workers, every other model on onnxruntime.
 */
export async function startModelServer(options: PythonServeOptions): Promise<ServedModel> {
  if (await isPythonBackendModel(options.repositoryDir, options.model)) return startPythonBackendServer(options);
  return startServer(options);
}
