import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UdpTransport } from '@pilot/transport/node';
import { DuplexTransport } from '../dist/index.js';
import { createWeatherServer } from '../test/fixtures/weather-server.mjs';

const B = { network: 0, node: 0xb },
  A = { network: 0, node: 0xa };
const srv = await UdpTransport.create({ host: '127.0.0.1', port: 0, localAddress: B });
srv.listen(1010);
srv.on('connection', (s) => {
  console.log('srv conn');
  s.on('data', (d) => console.log('srv got', d.length));
  void createWeatherServer().connect(new DuplexTransport(s));
});
const cli = await UdpTransport.create({ host: '0.0.0.0', port: 0, localAddress: A });
cli.addPeer(B, { host: '127.0.0.1', port: srv.udpAddress.port });
const st = await cli.connect(B, 1010);
st.on('data', (d) => console.log('cli got', d.length));
const c = new Client({ name: 'x', version: '1' });
await c.connect(new DuplexTransport(st));
console.log('connected');
console.log((await c.callTool({ name: 'fetch_data', arguments: { bytes: 10 } })).content[0].text);
await c.close();
await cli.close();
await srv.close();
