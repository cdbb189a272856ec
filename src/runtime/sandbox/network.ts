/**
 * The pod network of the sandbox runtime: a network namespace per pod, wired by the real CNI
 * plugins (`bridge` with `host-local` IPAM on a private subnet, and `loopback`). No NAT, no
 * default route, `net.ipv4.ip_forward` untouched (the bridge plugin runs with `isGateway: false`,
 * because with `true` it turns forwarding on; podvisor puts the gateway address on the bridge
 * itself so the host, e.g. HTTP probes, reaches pods directly).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { errText, findExecutable, run } from '../proc-util.js';
import { toolPath, type Tools } from './tools.js';

/** Where `ip netns` keeps named network namespaces. */
export const NETNS_DIR = '/var/run/netns';
/** Comment of the iptables rule that lets pods of one bridge reach each other (see allowPodToPod). */
const POD_TO_POD_COMMENT = 'podvisor: pod-to-pod traffic on the pod bridge';
/** host-local's store (its default): `<LEASE_DIR>/podvisor-<bridge>/<ip>` holds the netns name. */
const LEASE_DIR = '/var/lib/cni/networks';

export interface Subnet { cidr: string; gateway: string; prefix: number }

export function parseSubnet(s: string): Subnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = Number(m?.[5]);
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) throw new Error(`invalid sandbox subnet ${JSON.stringify(s)}: expected an IPv4 CIDR like 10.88.0.0/24 (prefix 8–30)`);
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  const str = (n: number): string => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return { cidr: `${str(network)}/${prefix}`, gateway: str(network + 1), prefix };
}

/** Runs a command; rejects with what it printed when it fails. */
export async function must(argv: string[], what: string): Promise<void> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}

/** The pod bridge and the network namespaces attached to it. */
export class PodNetwork {
  private bridgeChecked = false;

  constructor(
    private readonly tools: Tools,
    private readonly subnet: Subnet,
    readonly bridge: string,
    private readonly log: (msg: string, fields?: object) => void,
  ) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`invalid bridge name ${JSON.stringify(bridge)}: 1–15 characters of letters, digits, _ . -`);
  }

  /**
   * Creates the network namespace and connects it (loopback, and eth0 on the bridge with an
   * address from the node-wide pool). Returns the pod IP and the host side of the veth.
   */
  async attach(netns: string): Promise<{ ip: string; hostVeth?: string }> {
    await this.ensureBridge();
    await must([this.tools.ip, 'netns', 'add', netns], 'ip netns add');
    await this.cni('loopback', 'ADD', netns, 'lo');
    const res = await this.cni('bridge', 'ADD', netns, 'eth0');
    const parsed = JSON.parse(res) as { ips?: { address?: string }[]; interfaces?: { name?: string; sandbox?: string }[] };
    const ip = parsed.ips?.[0]?.address?.split('/')[0];
    if (ip === undefined) throw new Error(`the CNI bridge plugin returned no IP: ${res}`);
    const veth = parsed.interfaces?.find((i) => i.sandbox === undefined && i.name !== this.bridge)?.name;
    return veth !== undefined ? { ip, hostVeth: veth } : { ip };
  }

  /** Frees the IP (CNI DEL: lease and veth) and deletes the namespace; the problems met. Idempotent. */
  async detach(netns: string): Promise<string[]> {
    const problems: string[] = [];
    const del = await this.cniTry('bridge', 'DEL', netns, 'eth0');
    if (del !== undefined) problems.push(del);
    if (fs.existsSync(path.join(NETNS_DIR, netns))) {
      const r = await run([this.tools.ip, 'netns', 'del', netns]);
      if (r.code !== 0 && fs.existsSync(path.join(NETNS_DIR, netns))) problems.push(`ip netns del ${netns}: ${r.stderr.trim()}`);
    }
    return problems;
  }

  /** Whether process `pid` is in the named network namespace. */
  static holds(netns: string, pid: number): boolean {
    try {
      const nsIno = fs.statSync(path.join(NETNS_DIR, netns)).ino;
      return fs.readlinkSync(`/proc/${pid}/ns/net`) === `net:[${nsIno}]`;
    } catch {
      return false;
    }
  }

  /** Creates the bridge with the gateway address when missing (pods then reach the host, and the host the pods). */
  private async ensureBridge(): Promise<void> {
    const exists = fs.existsSync(`/sys/class/net/${this.bridge}`);
    if (exists && this.bridgeChecked) return;
    const ip = this.tools.ip;
    if (!exists) {
      const r = await run([ip, 'link', 'add', this.bridge, 'type', 'bridge']);
      if (r.code !== 0 && !fs.existsSync(`/sys/class/net/${this.bridge}`)) throw new Error(`ip link add ${this.bridge}: ${r.stderr.trim()}`);
    }
    await must([ip, 'addr', 'replace', `${this.subnet.gateway}/${this.subnet.prefix}`, 'dev', this.bridge], 'ip addr replace');
    await must([ip, 'link', 'set', this.bridge, 'up'], 'ip link set up');
    if (!this.bridgeChecked) {
      await this.releaseStaleLeases();
      await this.allowPodToPod();
    }
    this.bridgeChecked = true;
  }

  /**
   * With `br_netfilter` loaded and `bridge-nf-call-iptables` on, traffic between two ports of
   * the pod bridge passes the iptables FORWARD chain, whose policy is DROP on many hosts (Docker
   * sets it). One ACCEPT rule for traffic that enters and leaves the pod bridge keeps pod-to-pod
   * traffic working there; nothing else is opened (the pod network has no route off the machine).
   * Without iptables or without br_netfilter there is nothing to do. Idempotent.
   */
  private async allowPodToPod(): Promise<void> {
    const callIptables = await fsp.readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(() => '0');
    if (callIptables.trim() !== '1') return;
    const iptables = findExecutable('iptables', toolPath());
    if (iptables === undefined) {
      this.log('br_netfilter is on but iptables is missing: pod-to-pod traffic depends on the FORWARD policy', { bridge: this.bridge });
      return;
    }
    const rule = ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-m', 'comment', '--comment', POD_TO_POD_COMMENT, '-j', 'ACCEPT'];
    if ((await run([iptables, '-w', '5', '-C', ...rule])).code === 0) return;
    const r = await run([iptables, '-w', '5', '-I', ...rule]);
    if (r.code !== 0) this.log('cannot add the FORWARD rule for pod-to-pod traffic', { bridge: this.bridge, error: (r.stderr || r.stdout).trim() });
  }

  /**
   * IP leases are node-wide (one host-local store per bridge, shared by every podvisor process
   * on the node, so two of them never hand out one address twice). A lease whose network
   * namespace is gone belongs to a sandbox that a crashed podvisor (whose data directory may be
   * gone too) never released: it is freed here. Leases are taken after the netns is created
   * and released before it is deleted, so a live sandbox's lease is never freed.
   */
  private async releaseStaleLeases(): Promise<void> {
    const dir = path.join(LEASE_DIR, `podvisor-${this.bridge}`);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue; // lock, last_reserved_ip.0
      const file = path.join(dir, name);
      try {
        const owner = (await fsp.readFile(file, 'utf8')).split(/\r?\n/)[0]?.trim() ?? '';
        if (!/^pv-[0-9a-f]+$/.test(owner) || fs.existsSync(path.join(NETNS_DIR, owner))) continue;
        await fsp.rm(file, { force: true });
        this.log('released a stale IP lease', { ip: name, netns: owner });
      } catch {
        // raced with a release
      }
    }
  }

  private cniConfig(plugin: 'bridge' | 'loopback'): string {
    if (plugin === 'loopback') return JSON.stringify({ cniVersion: '1.0.0', name: 'podvisor-lo', type: 'loopback' });
    return JSON.stringify({
      cniVersion: '1.0.0',
      name: `podvisor-${this.bridge}`,
      type: 'bridge',
      bridge: this.bridge,
      // isGateway:true would switch on net.ipv4.ip_forward; the gateway address is set by ensureBridge.
      isGateway: false,
      ipMasq: false,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: this.subnet.cidr, gateway: this.subnet.gateway }]],
        dataDir: LEASE_DIR,
      },
    });
  }

  /** Runs a CNI plugin; resolves with its stdout (the result JSON), rejects with its error message. */
  private async cni(plugin: 'bridge' | 'loopback', command: 'ADD' | 'DEL', netns: string, ifname: string): Promise<string> {
    const r = await run([path.join(this.tools.cniDir, plugin)], {
      input: this.cniConfig(plugin),
      env: {
        ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: netns, CNI_NETNS: path.join(NETNS_DIR, netns),
        CNI_IFNAME: ifname, CNI_PATH: this.tools.cniDir,
      },
    });
    if (r.code !== 0) {
      let msg = r.stderr.trim() || r.stdout.trim();
      try {
        const j = JSON.parse(r.stdout) as { msg?: string; details?: string };
        if (j.msg !== undefined) msg = j.details ? `${j.msg}: ${j.details}` : j.msg;
      } catch { /* not JSON */ }
      throw new Error(`CNI ${plugin} ${command} failed (exit ${r.code}): ${msg}`);
    }
    return r.stdout;
  }

  private async cniTry(plugin: 'bridge' | 'loopback', command: 'ADD' | 'DEL', netns: string, ifname: string): Promise<string | undefined> {
    try {
      await this.cni(plugin, command, netns, ifname);
      return undefined;
    } catch (err) {
      return errText(err);
    }
  }
}
