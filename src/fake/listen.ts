// What every fake service shares: listening on loopback, and stopping with its connections cut.
import { createServer, type RequestListener, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";

/** Starts a server for `handle` on 127.0.0.1 (`port` 0: any free one); its address, without a path. */
export async function listen(
  handle: RequestListener,
  port = 0,
  options: ServerOptions = {},
): Promise<{ server: Server; address: string }> {
  const server = createServer(options, handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { server, address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Stops a server (if started): open connections are cut, so a test never waits on a kept-alive socket. */
export async function close(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
