import { startModelServer } from './serve/model-server.js';

/**
 * Prove the converted model serves before calling it deployed: start the local KServe v2 server on
 * a free port, ask `/v2/health/ready` and the model's metadata, then stop it. `trainer-agent serve`
 * serves it for real.
 */
export async function checkServable(repositoryDir: string, model: string): Promise<{ ok: boolean; message?: string }> {
  let server: Awaited<ReturnType<typeof startModelServer>> | undefined;
  try {
    server = await startModelServer({ repositoryDir, model, port: 0 });
    const ready = await fetch(`${server.url}/v2/health/ready`);
    const metadata = await fetch(`${server.url}/v2/models/${model}`);
    if (!ready.ok || !metadata.ok) return { ok: false, message: `health ${ready.status}, metadata ${metadata.status}` };
    return { ok: true };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  } finally {
    await server?.close();
  }
}
