// The compositor draws what is broadcast onto one 1280×720 canvas: the camera, or the shared
// screen with the camera in a corner (switchable), or black while the camera is off. The
// canvas's track is what the peer connection sends, so the picture size never changes
// mid-stream (HLS keeps one set of parameters) whatever the sources do.

export const WIDTH = 1280;
export const HEIGHT = 720;
export const FPS = 30;

export type Rect = { x: number; y: number; w: number; h: number };

// fit places a source of srcW×srcH inside the box, whole and centred (letterboxed).
export function fit(srcW: number, srcH: number, box: Rect): Rect {
  if (srcW <= 0 || srcH <= 0) return { ...box };
  const scale = Math.min(box.w / srcW, box.h / srcH);
  const w = Math.round(srcW * scale);
  const h = Math.round(srcH * scale);
  return { x: box.x + Math.round((box.w - w) / 2), y: box.y + Math.round((box.h - h) / 2), w, h };
}

// cameraCorner is where the camera goes over a shared screen: a quarter of the width, bottom right.
export function cameraCorner(width = WIDTH, height = HEIGHT): Rect {
  const w = Math.round(width / 4);
  const h = Math.round((w * 9) / 16);
  const margin = Math.round(width / 50);
  return { x: width - w - margin, y: height - h - margin, w, h };
}

export type Layout = { cameraOn: boolean; cameraOnScreen: boolean };

// gridBoxes splits the picture into n tiles, as square a grid as fits (a stage's mix: 1 is
// the whole picture, 2 side by side, 3–4 two by two, up to 12 in four by three).
export function gridBoxes(n: number, width = WIDTH, height = HEIGHT): Rect[] {
  if (n <= 0) return [];
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const w = Math.floor(width / cols);
  const h = Math.floor(height / rows);
  const out: Rect[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    // The last row's tiles are centred when it is not full.
    const inRow = row === rows - 1 ? n - row * cols : cols;
    const x0 = Math.floor((width - inRow * w) / 2);
    out.push({ x: x0 + (i - row * cols) * w, y: row * h, w, h });
  }
  return out;
}

function videoFor(stream: MediaStream | null): HTMLVideoElement | null {
  if (!stream) return null;
  const v = document.createElement('video');
  v.muted = true;
  v.playsInline = true;
  v.srcObject = stream;
  void v.play().catch(() => undefined);
  return v;
}

// A worker's timer keeps drawing while the tab is in the background (a streamer sharing
// another window), where the page's own timers would be slowed to once a second. It sends a
// tick only once the page has drawn the last one: on a loaded machine, where a draw can take
// longer than a frame, ticks sent regardless piled up in the page's task queue without end,
// the page stopped answering its streamer, and the stream's frames came seconds apart. A
// page that falls behind draws fewer frames instead.
function ticker(onTick: () => void): () => void {
  try {
    const src = `let drawn = true; onmessage = () => { drawn = true; };
      setInterval(() => { if (drawn) { drawn = false; postMessage(0); } }, ${Math.round(1000 / FPS)});`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const worker = new Worker(url);
    worker.onmessage = () => {
      try {
        onTick();
      } finally {
        worker.postMessage(0);
      }
    };
    return () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    };
  } catch {
    const id = setInterval(onTick, Math.round(1000 / FPS));
    return () => clearInterval(id);
  }
}

export class Compositor {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private camera: HTMLVideoElement | null = null;
  private screen: HTMLVideoElement | null = null;
  private layout: Layout = { cameraOn: true, cameraOnScreen: true };
  private readonly stop: () => void;
  private out: MediaStream | null = null;
  private grid: { id: string; video: HTMLVideoElement }[] | null = null;

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.width = WIDTH;
    this.canvas.height = HEIGHT;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2D is not available');
    this.ctx = ctx;
    this.draw();
    this.stop = ticker(() => this.draw());
  }

  setCamera(stream: MediaStream | null) {
    this.camera = videoFor(stream);
  }

  setScreen(stream: MediaStream | null) {
    this.screen = videoFor(stream);
  }

  // setGrid draws the streams side by side in a grid instead of the camera and screen (a
  // stage's mix); null goes back to them. A stream already shown keeps its element.
  setGrid(streams: MediaStream[] | null) {
    if (!streams) {
      this.grid = null;
      return;
    }
    const old = new Map((this.grid ?? []).map((g) => [g.id, g.video]));
    this.grid = streams.map((s) => ({ id: s.id, video: old.get(s.id) ?? (videoFor(s) as HTMLVideoElement) }));
  }

  setLayout(layout: Layout) {
    this.layout = layout;
  }

  // track is the composed picture, at up to FPS frames per second.
  track(): MediaStreamTrack {
    this.out ??= this.canvas.captureStream(FPS);
    return this.out.getVideoTracks()[0];
  }

  private drawVideo(v: HTMLVideoElement, box: Rect) {
    if (v.readyState < 2 || v.videoWidth === 0) return;
    const r = fit(v.videoWidth, v.videoHeight, box);
    this.ctx.drawImage(v, r.x, r.y, r.w, r.h);
  }

  draw() {
    const { ctx } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    const full = { x: 0, y: 0, w: WIDTH, h: HEIGHT };
    if (this.grid) {
      const boxes = gridBoxes(this.grid.length);
      this.grid.forEach((g, i) => this.drawVideo(g.video, boxes[i]));
    } else if (this.screen) {
      this.drawVideo(this.screen, full);
      if (this.camera && this.layout.cameraOn && this.layout.cameraOnScreen) {
        const corner = cameraCorner();
        ctx.fillRect(corner.x, corner.y, corner.w, corner.h);
        this.drawVideo(this.camera, corner);
      }
    } else if (this.camera && this.layout.cameraOn) {
      this.drawVideo(this.camera, full);
    }
  }

  close() {
    this.stop();
    this.out?.getTracks().forEach((t) => t.stop());
  }
}
