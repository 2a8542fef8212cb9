// Where a viewer joining a live LL-HLS stream starts. hls.js starts PART-HOLD-BACK behind the
// newest part and loads from the independent part (keyframe) before that point: when the
// newest segment began less than PART-HOLD-BACK ago, that is the previous segment's keyframe,
// up to a whole GOP more to fetch and decode before the first frame (2 s of video at our
// 2 s GOPs, ten more parts). startAtLatestIndependentPart moves the start up to the newest
// independent part instead: the first frame is that part's keyframe, and the player starts
// no further behind the edge than hls.js would.

// Playlist numbers read for the start.
export type LiveStart = {
  edge: number; // seconds from the playlist's first segment to the end of its newest part
  independent: number; // and to the start of its newest independent part
  holdBack: number; // PART-HOLD-BACK (or three part targets)
};

// liveStart reads a media playlist's edge, its newest independent part and its hold-back;
// undefined for a playlist without parts, or one that has ended.
export function liveStart(playlist: string): LiveStart | undefined {
  let t = 0; // start of the segment being read
  let inSegment = 0; // parts' duration so far in it
  let independent: number | undefined;
  let partTarget: number | undefined;
  let holdBack: number | undefined;
  for (const raw of playlist.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-ENDLIST')) return undefined;
    if (line.startsWith('#EXT-X-PART-INF:')) partTarget = num(line, 'PART-TARGET');
    else if (line.startsWith('#EXT-X-SERVER-CONTROL:')) holdBack = num(line, 'PART-HOLD-BACK');
    else if (line.startsWith('#EXT-X-PART:')) {
      const d = num(line, 'DURATION');
      if (d === undefined) return undefined;
      if (/[:,]INDEPENDENT=YES/.test(line)) independent = t + inSegment;
      inSegment += d;
    } else if (line.startsWith('#EXTINF:')) {
      const d = Number.parseFloat(line.slice(8));
      if (!Number.isFinite(d) || d < 0) return undefined;
      t += d;
      inSegment = 0;
    }
  }
  if (independent === undefined || partTarget === undefined) return undefined;
  return { edge: t + inSegment, independent, holdBack: holdBack ?? 3 * partTarget };
}

function num(line: string, name: string): number | undefined {
  const m = new RegExp(`[:,]${name}=([0-9.]+)`).exec(line);
  const v = m ? Number.parseFloat(m[1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

// startAtLatestIndependentPart returns a live media playlist with an EXT-X-START that has
// hls.js start at its newest independent part when that part is within PART-HOLD-BACK of the
// edge; otherwise (or if the playlist already says where to start) the playlist unchanged.
export function startAtLatestIndependentPart(playlist: string): string {
  if (!playlist.startsWith('#EXTM3U') || /^#EXT-X-START:/m.test(playlist)) return playlist;
  const s = liveStart(playlist);
  if (!s) return playlist;
  const behind = s.edge - s.independent;
  if (behind <= 0 || behind >= s.holdBack) return playlist;
  const eol = playlist.indexOf('\n');
  if (eol < 0) return playlist;
  // A millisecond into the part: hls.js adds the offset to its own sum of the durations, and
  // a start a rounding error before the keyframe would load the part before it.
  const offset = behind - 0.001;
  return `${playlist.slice(0, eol + 1)}#EXT-X-START:TIME-OFFSET=-${offset.toFixed(5)},PRECISE=YES\n${playlist.slice(eol + 1)}`;
}
