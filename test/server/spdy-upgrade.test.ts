/**
 * The SPDY/3.1 upgrade (src/server/streams/spdy-upgrade.ts): `X-Stream-Protocol-Version`
 * negotiation as apimachinery's `httpstream.Handshake` does it (the client's first supported
 * offer; 403 with `X-Accepted-Stream-Protocol-Versions`; 400 without an offer), the upgrade
 * header check, and a real HTTP upgrade on loopback, bytes sent with the request included.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG_FIN, FrameParser, HeaderCompressor, serializeFrame } from '../../src/server/streams/spdy-frames.js';
import { SpdySession, type SpdyStream } from '../../src/server/streams/spdy-session.js';
import {
  isSpdyUpgradeRequest, negotiateStreamProtocol, offeredStreamProtocols, upgradeSpdy, type SpdyUpgradeResult,
} from '../../src/server/streams/spdy-upgrade.js';

const EXEC = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

describe('stream protocol negotiation', () => {
  it('picks the client\'s first offer the server supports, as httpstream.Handshake does', () => {
    expect(negotiateStreamProtocol(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'], EXEC)).toEqual({ ok: true, protocol: 'v4.channel.k8s.io' });
    expect(negotiateStreamProtocol(['v2.channel.k8s.io', 'v4.channel.k8s.io'], EXEC)).toEqual({ ok: true, protocol: 'v2.channel.k8s.io' });
    expect(negotiateStreamProtocol(['portforward.k8s.io'], ['portforward.k8s.io'])).toEqual({ ok: true, protocol: 'portforward.k8s.io' });
  });

  it('refuses with upstream\'s 403 and the accepted versions when nothing matches', () => {
    expect(negotiateStreamProtocol(['v9', 'v8'], ['v4.channel.k8s.io', 'v3.channel.k8s.io'])).toEqual({
      ok: false,
      statusCode: 403,
      message: 'unable to upgrade: unable to negotiate protocol: client supports [v9 v8], server accepts [v4.channel.k8s.io v3.channel.k8s.io]',
      headers: [['X-Accepted-Stream-Protocol-Versions', 'v4.channel.k8s.io'], ['X-Accepted-Stream-Protocol-Versions', 'v3.channel.k8s.io']],
    });
  });

  it('requires an offer (400), unless a legacy protocol is configured', () => {
    expect(negotiateStreamProtocol([], EXEC)).toMatchObject({ ok: false, statusCode: 400, message: 'unable to upgrade: X-Stream-Protocol-Version is required' });
    expect(negotiateStreamProtocol([], EXEC, 'channel.k8s.io')).toEqual({ ok: true, protocol: 'channel.k8s.io' });
    expect(() => negotiateStreamProtocol(['a'], [])).toThrow(RangeError);
  });

  it('reads repeated and comma-separated offers in order', () => {
    expect(offeredStreamProtocols({ headers: { 'x-stream-protocol-version': 'v5.channel.k8s.io, v4.channel.k8s.io,, ,v3' } }))
      .toEqual(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3']);
    expect(offeredStreamProtocols({ headers: {} })).toEqual([]);
  });

  it('recognises SPDY upgrade requests as upstream does', () => {
    expect(isSpdyUpgradeRequest({ headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' } })).toBe(true);
    expect(isSpdyUpgradeRequest({ headers: { connection: 'keep-alive, upgrade', upgrade: 'spdy/3.1' } })).toBe(true);
    expect(isSpdyUpgradeRequest({ headers: { connection: 'Upgrade', upgrade: 'websocket' } })).toBe(false);
    expect(isSpdyUpgradeRequest({ headers: { upgrade: 'SPDY/3.1' } })).toBe(false);
  });
});

describe('SPDY upgrade over HTTP', () => {
  let server: Server;
  let port = 0;
  const results: SpdyUpgradeResult[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => res.end());
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      results.push(upgradeSpdy(req, socket, head, {
        protocols: EXEC,
        session: { onStream: (s: SpdyStream) => { s.reply(); s.pipe(s); } },
      }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => { server.close(); });

  /** Sends `request` (plus `extra` bytes in the same write); resolves with the response head and the socket. */
  async function exchange(request: string[], extra = Buffer.alloc(0)): Promise<{ head: string; rest: Buffer; sock: Socket }> {
    const sock = new Socket().connect(port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(Buffer.concat([Buffer.from(`${request.join('\r\n')}\r\n\r\n`), extra]));
    let buf = Buffer.alloc(0);
    for (;;) {
      const [chunk] = (await once(sock, 'data')) as [Buffer];
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) { sock.pause(); return { head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4), sock }; }
    }
  }

  const base = ['POST /api/v1/namespaces/default/pods/p/exec?command=sh HTTP/1.1', 'Host: localhost', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];

  it('answers 101 with the negotiated version and serves SPDY right after, request-borne frames included', async () => {
    const deflate = new HeaderCompressor();
    const syn = Buffer.concat([
      serializeFrame({ type: 'syn_stream', streamId: 1, associatedId: 0, priority: 0, slot: 0, flags: 0, headerBlock: await deflate.compress({ streamtype: 'error' }) }),
      serializeFrame({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.from('sent with the request') }),
    ]);
    deflate.close();
    const { head, rest, sock } = await exchange([...base, 'X-Stream-Protocol-Version: v5.channel.k8s.io', 'X-Stream-Protocol-Version: v4.channel.k8s.io'], syn);
    expect(head.split('\r\n')).toEqual(['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io']);
    expect(results.at(-1)).toMatchObject({ ok: true, protocol: 'v4.channel.k8s.io' });
    // The SYN_STREAM, DATA and FIN that came with the request (Node's `head`) were served: echoed.
    const parser = new FrameParser();
    const frames = parser.push(rest).frames;
    sock.on('data', (c: Buffer) => frames.push(...parser.push(c).frames));
    sock.resume();
    const end = Date.now() + 5000;
    while (!frames.some((f) => f.type === 'data' && (f.flags & FLAG_FIN) !== 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(frames.map((f) => (f.type === 'data' ? `data ${f.streamId} ${f.flags} ${f.data.toString()}` : `${f.type} ${'streamId' in f ? f.streamId : ''}`)))
      .toEqual(['syn_reply 1', 'data 1 0 sent with the request', 'data 1 1 ']);
    sock.destroy();
  });

  it('echoes through a stream of an upgraded connection', async () => {
    const { rest, sock } = await exchange([...base, 'X-Stream-Protocol-Version: v4.channel.k8s.io']);
    if (rest.length > 0) sock.unshift(rest);
    const client = new SpdySession(sock, { role: 'client' });
    sock.resume();
    const s = client.openStream({ streamtype: 'stdout' });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.end('ping through the upgrade');
    await once(s, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('ping through the upgrade');
    client.close();
  });

  it('refuses an unsupported version with 403, the accepted versions and upstream\'s message', async () => {
    const { head, rest, sock } = await exchange([...base, 'X-Stream-Protocol-Version: v9.channel.k8s.io']);
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(lines.filter((l) => l.startsWith('X-Accepted-Stream-Protocol-Versions:'))).toEqual(EXEC.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}`));
    expect(lines).toContain('Content-Type: text/plain; charset=utf-8');
    sock.resume();
    const body = [rest];
    sock.on('data', (c: Buffer) => body.push(c));
    await once(sock, 'end');
    expect(Buffer.concat(body).toString()).toBe(`unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [${EXEC.join(' ')}]\n`);
  });

  it('refuses a request without a version (400) or without SPDY upgrade headers (400)', async () => {
    const noVersion = await exchange(base);
    expect(noVersion.head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    noVersion.sock.destroy();
    const websocket = await exchange(['GET / HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: websocket', 'X-Stream-Protocol-Version: v4.channel.k8s.io']);
    expect(websocket.head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(results.at(-1)).toMatchObject({ ok: false, statusCode: 400, message: expect.stringContaining('missing upgrade headers') });
    websocket.sock.destroy();
  });
});
