import { describe, expect, it } from 'vitest'
import { readyInits } from '../src/holder.js'
import { validateHostCount } from '../src/naming.js'
import { macOf, qemuArgs, shellQuote, sshArgv, tapBatch } from '../src/vm.js'

describe('VM lab hosts (pure parts)', () => {
  it('quotes every argument so the remote shell sees it unchanged', () => {
    expect(shellQuote('node')).toBe('node')
    expect(shellQuote('a b')).toBe("'a b'")
    expect(shellQuote("it's")).toBe("'it'\\''s'")
    expect(shellQuote('')).toBe("''")
    const argv = sshArgv('lab', 2, ['sh', '-c', 'echo $HOME; exit 3'], { A: 'x y' })
    expect(argv.slice(-3)).toEqual(['192.0.2.12', '--', "env A='x y' sh -c 'echo $HOME; exit 3'"])
    expect(argv).toContain('/var/lib/swarmnet-lab/lab/id_ed25519')
    expect(() => sshArgv('lab', 1, ['true'], { 'A-B': '1' })).toThrow(/invalid environment name/)
  })

  it('puts a tap per VM on the underlay bridge and boots with the host address', () => {
    expect(tapBatch([1, 2])).toBe(
      'tuntap add dev tap1 mode tap\nlink set tap1 master br0\nlink set tap1 up\n' +
        'tuntap add dev tap2 mode tap\nlink set tap2 master br0\nlink set tap2 up\n',
    )
    expect(macOf(1)).toBe('52:54:00:c0:02:0b')
    const image = { dir: '/c', kernel: '/c/vmlinuz', initrd: '/c/initrd.img', base: '/c/base.qcow2' }
    const init = {
      lab: 'lab',
      hosts: 2,
      host: 2,
      switchPid: 42,
      image,
      codeDisk: '/d/code.img',
      overlay: '/d/vm2.qcow2',
    }
    const tcg = qemuArgs({ ...init, accel: 'tcg' })
    expect(tcg.slice(0, 5)).toEqual(['--target', '42', '--net', '--', 'qemu-system-x86_64'])
    expect(tcg).toContain('tcg,tb-size=256')
    expect(tcg).not.toContain('host')
    const append = tcg[tcg.indexOf('-append') + 1]
    expect(append).toContain('swarmnet.addr=192.0.2.12/24 swarmnet.gw=192.0.2.1')
    expect(append).toContain('systemd.hostname=lab-2')
    expect(tcg).toContain('file=/d/code.img,if=virtio,format=raw,readonly=on')
    expect(tcg).toContain('tap,id=n0,ifname=tap2,script=no,downscript=no')
    expect(qemuArgs({ ...init, accel: 'kvm' })).toContain('kvm')
  })

  it('limits VM labs and finds QEMU as the ready process of a VM host', () => {
    expect(validateHostCount(8, true)).toBe(8)
    expect(() => validateHostCount(9, true)).toThrow(/1 to 8 for VM hosts/)
    const base = { lab: 'l', hosts: 1, init: false }
    const ready = readyInits([
      { ...base, pid: 10, node: '1', comm: 'qemu-system-x86', vm: true },
      { ...base, pid: 11, node: 'ssh', comm: 'ssh', vm: false },
      { ...base, pid: 12, node: 'switch', comm: 'tini', vm: false, init: true },
    ])
    expect([...ready]).toEqual([
      ['1', 10],
      ['switch', 12],
    ])
  })
})
