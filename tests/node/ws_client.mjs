// A Node.js `ws` client for the listening tests: connects to the URL in argv[2],
// sends a text and a binary message, checks that each echo keeps its content and type,
// then closes with code 4001 and prints one JSON line saying what it saw.
import WebSocket from "ws";

const url = process.argv[2];
const socket = new WebSocket(url, ["node-test"], { perMessageDeflate: true });
const seen = { open: false, echoes: [], protocol: null, closeCode: null, error: null };
const sent = [
  { data: "héllo from node", binary: false },
  { data: Buffer.from([0x00, 0xff, 0x41, 0x42]), binary: true },
];

socket.on("open", () => {
  seen.open = true;
  seen.protocol = socket.protocol;
  for (const message of sent) socket.send(message.data, { binary: message.binary });
});
socket.on("message", (data, isBinary) => {
  seen.echoes.push({ binary: isBinary, hex: Buffer.from(data).toString("hex") });
  if (seen.echoes.length === sent.length) socket.close(4001, "node done");
});
socket.on("close", (code) => {
  seen.closeCode = code;
  console.log(JSON.stringify(seen));
  process.exit(0);
});
socket.on("error", (error) => {
  seen.error = String(error.message || error);
});
