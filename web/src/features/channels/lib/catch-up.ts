// Catching up with the live edge. hls.js's own catch-up (maxLiveSyncPlaybackRate) only speeds
// playback up while more than one second is buffered ahead, which an LL-HLS player held
// PART-HOLD-BACK (0.6 s with 200 ms parts) behind the edge never has: a viewer who started
// late, or fell behind after a stall, stayed behind for good. So the player turns it off and
// plays a little faster itself while it is behind its target latency and has media buffered
// ahead to spend, never closer than the target (hls.js's, PART-HOLD-BACK plus what stalls
// added), and back at normal speed as soon as the buffer runs low.

// The rates: a small lag is caught up at 1.1×, a larger one at 1.25× (speech stays natural;
// browsers keep the pitch).
const gentle = 1.1;
const fast = 1.25;
// Behind the target by more than this: catch up (once catching up, until within settle).
const start = 0.1;
const settle = 0.03;
// From this much lag on, the fast rate.
const far = 0.4;
// Media that must be buffered ahead to play faster than real time (seconds): about a part,
// so that the next part has time to arrive.
const minAhead = 0.25;

// catchUpRate is the playback rate for a live player latency seconds behind the edge, whose
// target is target, with ahead seconds buffered past the playhead, playing at rate now.
export function catchUpRate(latency: number, target: number, ahead: number, rate: number): number {
  const lag = latency - target;
  if (!Number.isFinite(lag) || ahead < minAhead || lag < (rate > 1 ? settle : start)) return 1;
  return lag >= far ? fast : gentle;
}

// bufferedAhead is how much media video holds past its playhead, in seconds.
export function bufferedAhead(video: HTMLMediaElement): number {
  const t = video.currentTime;
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= t + 0.05 && t < b.end(i)) return b.end(i) - t;
  }
  return 0;
}

// The part of hls.js the catch-up reads.
export type LatencySource = {
  latency: number; // seconds behind the estimated live edge
  targetLatency: number | null;
  latestLevelDetails?: { live: boolean } | null;
};

// followLiveEdge adjusts video's playback rate on every timeupdate; it returns the function
// that stops it (leaving the rate at 1).
export function followLiveEdge(video: HTMLMediaElement, hls: LatencySource): () => void {
  const update = () => {
    const target = hls.targetLatency;
    if (video.paused || target === null || !hls.latestLevelDetails?.live) return;
    const rate = catchUpRate(hls.latency, target, bufferedAhead(video), video.playbackRate);
    if (rate !== video.playbackRate) video.playbackRate = rate;
  };
  video.addEventListener('timeupdate', update);
  return () => {
    video.removeEventListener('timeupdate', update);
    if (video.playbackRate !== 1) video.playbackRate = 1;
  };
}
