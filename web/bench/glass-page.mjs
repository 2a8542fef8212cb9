// The pages of the glass-to-glass benchmark (glass-to-glass.mjs serves this module to them
// under the server's origin): the publisher that draws the time and sends it, and the viewer
// that reads it back from the frames it presents.
import * as tc from './timecode.mjs';

// negotiate posts pc's offer (ICE gathered) to endpoint and applies the answer; with retry, a 404
// or 503 (not live yet, nothing published yet) is tried again every 200 ms for 20 s. It sets
// window.benchEnd to DELETE the location and close pc.
async function negotiate(pc, endpoint, retry) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    setTimeout(resolve, 2000);
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
  });
  const deadline = performance.now() + 20_000;
  for (;;) {
    const res = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${endpoint.token}` },
      body: pc.localDescription.sdp,
    });
    const text = await res.text();
    if (res.status === 201) {
      await pc.setRemoteDescription({ type: 'answer', sdp: text });
      const location = new URL(res.headers.get('Location'), endpoint.url).toString();
      window.benchEnd = async () => {
        await fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${endpoint.token}` } });
        pc.close();
      };
      return;
    }
    if (!retry || ![404, 503].includes(res.status) || performance.now() > deadline) throw new Error(`${endpoint.url}: ${res.status} ${text}`);
    await new Promise((r) => setTimeout(r, 200)); // polling interval until the stream is up
  }
}

// publish (in the publisher page) draws the time (less offsetMs: a known error the result must
// show, to check the measurement) on every animation frame and sends the canvas, with a tone
// from Web Audio as the audio track (the ingests take H.264 and Opus, as the broadcast card
// sends).
export async function publish({ endpoint, width, height, offsetMs }) {
  const canvas = Object.assign(document.createElement('canvas'), { width, height });
  document.body.append(canvas);
  const g = canvas.getContext('2d');
  window.benchDrawn = 0;
  window.benchDrawStart = performance.now();
  const draw = () => {
    const bits = tc.cells(tc.ticks(performance.timeOrigin + performance.now() - offsetMs));
    for (let r = 0; r < tc.ROWS; r++) {
      for (let c = 0; c < tc.COLS; c++) {
        g.fillStyle = bits[r * tc.COLS + c] ? '#fff' : '#000';
        const x = Math.round((c * width) / tc.COLS);
        const y = Math.round((r * height) / tc.ROWS);
        g.fillRect(x, y, Math.round(((c + 1) * width) / tc.COLS) - x, Math.round(((r + 1) * height) / tc.ROWS) - y);
      }
    }
    window.benchDrawn++;
    requestAnimationFrame(draw);
  };
  draw();
  const video = canvas.captureStream(30).getVideoTracks()[0];
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const out = audio.createMediaStreamDestination();
  tone.connect(out);
  tone.start();

  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const vt = pc.addTransceiver(video, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 2_500_000, maxFramerate: 30 }] });
  const rank = (c) => (c.mimeType.toLowerCase() !== 'video/h264' ? 2 : /packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1);
  vt.setCodecPreferences([...RTCRtpSender.getCapabilities('video').codecs].sort((a, b) => rank(a) - rank(b)));
  const params = vt.sender.getParameters();
  params.degradationPreference = 'maintain-resolution';
  await vt.sender.setParameters(params);
  pc.addTransceiver(out.stream.getAudioTracks()[0], { direction: 'sendonly' });
  await negotiate(pc, endpoint, false);
}

// play (in the viewer page) receives the video and samples frames presented after warmupMs
// (the first ones are the server's cached group of pictures, older by design) until it has
// read frames of them.
export async function play({ endpoint, frames, warmupMs }) {
  const video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
  document.body.append(video);
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = (e) => (video.srcObject = new MediaStream([e.track]));
  await negotiate(pc, endpoint, true);

  const read = Object.assign(document.createElement('canvas'), { width: 160, height: 90 }).getContext('2d', { willReadFrequently: true });
  const res = { display: [], received: [], unreadable: 0, presented: 0, widths: [] };
  let first = null;
  let firstPresented = null;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${res.display.length} of ${frames} frames read in 60 s (${res.unreadable} unreadable)`)), 60_000 + warmupMs);
    const onFrame = (_now, md) => {
      const shown = performance.timeOrigin + md.expectedDisplayTime;
      first ??= shown;
      if (shown - first >= warmupMs) {
        firstPresented ??= md.presentedFrames;
        read.drawImage(video, 0, 0, 160, 90);
        const tick = tc.decode(read.getImageData(0, 0, 160, 90).data, 160, 90);
        if (tick === null) {
          res.unreadable++;
        } else {
          res.display.push(tc.since(tick, shown));
          if (md.receiveTime) res.received.push(tc.since(tick, performance.timeOrigin + md.receiveTime));
          res.widths.push(md.width);
        }
        res.presented = md.presentedFrames - firstPresented + 1;
      }
      if (res.display.length >= frames) {
        clearTimeout(timer);
        resolve(res);
        return;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
}
