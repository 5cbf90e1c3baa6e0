// Tiny servers inside a sandbox of a simulated host: HTTP on `tcp` and a UDP echo on `udp`,
// both answering `<name> <client address as seen>`. Resolves once both listen, with the
// process in a box (a ResultPromise returned as is would be awaited until the server exits);
// the caller kills it (also after a failure).
import { execa, type ResultPromise } from 'execa'
import type { SimHost } from './hosts.js'

export async function serveWhoami(
  h: SimHost,
  netns: string,
  name: string,
  ports: { tcp: number; udp: number },
): Promise<{ readonly proc: ResultPromise }> {
  const code = [
    `const n=${JSON.stringify(name)};`,
    `require('http').createServer((q,s)=>s.end(n+' '+q.socket.remoteAddress)).listen(${ports.tcp},'0.0.0.0',()=>{`,
    "const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send(n+' '+r.address,r.port,r.address));",
    `u.bind(${ports.udp},'0.0.0.0',()=>console.log('listening'))})`,
  ].join('')
  const [file, ...rest] = h.wrap
  const p = execa(file as string, [...rest, 'ip', 'netns', 'exec', netns, process.execPath, '-e', code], {
    reject: false,
  })
  await new Promise<void>((resolve, reject) => {
    p.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve())
    void p.then((r) => reject(new Error(`server ${name} exited: ${r.stderr}`)))
  })
  return { proc: p }
}

/** Node code that sends one UDP datagram from `fromPort` to `to:port` and prints the answer (exit 1 after 1.5 s). */
export const udpOnce = (to: string, port: number, fromPort: number): string =>
  `const u=require('dgram').createSocket('udp4');u.bind(${fromPort},()=>{u.send('x',${port},${JSON.stringify(to)});});u.on('message',(m)=>{console.log(String(m));process.exit(0)});setTimeout(()=>process.exit(1),1500)`
