// udp-ask HOST PORT COUNT [SRCPORT]: sends COUNT datagrams to HOST:PORT from one source port
// (the same flow each time), one after the other, and prints each answer's first line, or
// "timeout" when none comes within 2 s. Run inside a lab host (the routing mesh's UDP check).
import { createSocket } from 'node:dgram'

const [host, portText, countText, srcText] = process.argv.slice(2)
const port = Number(portText)
const count = Number(countText ?? '1')
const socket = createSocket('udp4')
await new Promise((resolve) => socket.bind(Number(srcText ?? '0'), resolve))
for (let i = 0; i < count; i++) {
  const answer = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage)
      resolve('timeout')
    }, 2_000)
    function onMessage(msg) {
      clearTimeout(timer)
      socket.off('message', onMessage)
      resolve(msg.toString().split('\n')[0])
    }
    socket.on('message', onMessage)
    socket.send(`ask ${i}`, port, host)
  })
  console.log(answer)
}
socket.close()
