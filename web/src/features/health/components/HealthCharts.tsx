import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series, StreamEvent } from '../api/sessions';

export type Zoom = 'all' | 60 | 30 | 5;

const ZOOMS: { zoom: Zoom; label: string; aria: string }[] = [
  { zoom: 'all', label: 'All', aria: 'Show all of the data' },
  { zoom: 60, label: '1 hr', aria: 'Show the latest 1 hour of data' },
  { zoom: 30, label: '30 min', aria: 'Show the latest 30 minutes of data' },
  { zoom: 5, label: '5 min', aria: 'Show the latest 5 minutes of data' },
];

type ChartProps = {
  title: string;
  unit: string;
  x: number[];
  y: (number | null)[];
  range: [number, number];
  events: StreamEvent[];
  format: (v: number) => string;
};

// eventMarkers draws a dashed vertical line at each event, red for errors.
function eventMarkers(current: () => StreamEvent[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const events = current();
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1.5 * devicePixelRatio;
        for (const e of events) {
          const x = Math.round(u.valToPos(new Date(e.eventTime).getTime() / 1000, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = e.severity === 'error' ? '#d93651' : '#8a86a8';
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

// Chart is one uPlot line chart; charts share a cursor, so hovering one shows the same time on
// the other.
function Chart({ title, unit, x, y, range, events, format }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const eventsRef = useRef(events);
  useEffect(() => {
    eventsRef.current = events;
    plot.current?.redraw(false);
  }, [events]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(
      {
        width: Math.max(el.clientWidth, 200),
        height: 180,
        cursor: { sync: { key: 'health' } },
        legend: { show: true },
        scales: { x: { time: true, auto: false }, y: { range: (_u, _min, max) => [0, Math.max(max ?? 0, 1) * 1.15] } },
        axes: [{}, { size: 56, values: (_u, vals) => vals.map((v) => `${+v.toFixed(2)}`) }],
        series: [{}, { label: title, stroke: '#6d4aff', fill: '#6d4aff22', width: 2, spanGaps: false, value: (_u, v) => (v == null ? '----' : format(v)) }],
        plugins: [eventMarkers(() => eventsRef.current)],
      },
      [x, y],
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is made once; data and range updates go through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData([x, y], false);
    u.setScale('x', { min: range[0], max: range[1] });
  }, [x, y, range]);

  return (
    <figure className="chart" data-testid={`chart-${unit}`}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}

type Props = { metrics: Series; events: StreamEvent[]; zoom: Zoom; onZoom: (z: Zoom) => void; end: number };

// HealthCharts shows video bitrate and frame rate over the session, with zoom buttons and the
// session's events as markers.
export function HealthCharts({ metrics, events, zoom, onZoom: setZoom, end }: Props) {
  const x = useMemo(() => {
    const start = new Date(metrics.alignedStartTime).getTime() / 1000;
    return metrics.videoBitrate.map((_, i) => start + i * metrics.period);
  }, [metrics]);
  const mbpsSeries = useMemo(() => metrics.videoBitrate.map((v) => (v == null ? null : v / 1e6)), [metrics]);
  const hasData = metrics.videoBitrate.some((v) => v != null);
  const first = x[0] ?? end / 1000;
  const last = end / 1000;
  const range = useMemo<[number, number]>(
    () => (zoom === 'all' ? [first, Math.max(last, first + 1)] : [Math.max(first, last - zoom * 60), last]),
    [zoom, first, last],
  );
  const buttons = (
      <div className="zoom-buttons" role="group" aria-label="Zoom">
        {ZOOMS.map((z) => (
          <button
            key={z.label}
            type="button"
            className="btn btn-secondary btn-small"
            aria-label={`${z.label}: ${z.aria}`} // the visible words first, as WCAG 2.5.3 asks
            aria-pressed={zoom === z.zoom}
            onClick={() => setZoom(z.zoom)}
          >
            {z.label}
          </button>
        ))}
      </div>
  );
  if (!hasData) {
    return (
      <section className="card charts" aria-label="Charts">
        {buttons}
        <div className="empty">
          <p className="empty-title">No data available</p>
        </div>
      </section>
    );
  }
  return (
    <section className="card charts" aria-label="Charts">
      {buttons}
      <Chart title="Video bitrate" unit="mbps" x={x} y={mbpsSeries} range={range} events={events} format={(v) => `${v.toFixed(1)} mbps`} />
      <Chart title="Frame rate" unit="fps" x={x} y={metrics.framerate} range={range} events={events} format={(v) => `${Math.round(v)} fps`} />
    </section>
  );
}
