import { useToast } from '../../../lib/toast';
import type { Session } from '../api/sessions';
import { channelsLabel, kbps, khz, mbps, MISSING } from './format';

type Row = { key: string; label: string; value: string };

// rows lists what the encoder declared, and the keyframe interval measured over the session,
// as the reference's encoder summary does.
export function configurationRows(s: Session): Row[] {
  const v = s.ingestConfiguration?.video;
  const a = s.ingestConfiguration?.audio;
  const kf = s.metrics.averages.keyframeInterval;
  return [
    { key: 'encoder', label: 'Video encoder', value: v?.encoder || MISSING },
    { key: 'videoCodec', label: 'Video codec', value: v?.codec || MISSING },
    { key: 'profile', label: 'Profile and level', value: v?.profile ? `${v.profile} ${v.level}` : MISSING },
    { key: 'resolution', label: 'Resolution', value: v?.videoWidth ? `${v.videoWidth}x${v.videoHeight}` : MISSING },
    { key: 'targetFramerate', label: 'Target frame rate', value: v?.targetFramerate ? `${+v.targetFramerate.toFixed(2)} fps` : MISSING },
    { key: 'keyframeInterval', label: 'Keyframe interval', value: kf ? `${kf.toFixed(1)} s` : MISSING },
    { key: 'targetBitrate', label: 'Target bitrate', value: mbps(v?.targetBitrate) },
    { key: 'audioCodec', label: 'Audio codec', value: a?.codec || MISSING },
    { key: 'audioSampleRate', label: 'Audio sample rate', value: khz(a?.sampleRate) },
    { key: 'audioChannels', label: 'Audio channels', value: channelsLabel(a?.channels) },
    { key: 'audioBitrate', label: 'Target audio bitrate', value: kbps(a?.targetBitrate) },
  ];
}

export function EncoderConfiguration({ session }: { session: Session }) {
  const toast = useToast();
  const copy = async (r: Row) => {
    try {
      await navigator.clipboard.writeText(r.value);
      toast.success(`${r.label} copied`);
    } catch {
      toast.error(`Could not copy the ${r.label.toLowerCase()}`);
    }
  };
  return (
    <section className="card encoder" aria-labelledby="encoder-title">
      <h2 id="encoder-title">Encoder configuration</h2>
      <dl className="encoder-rows">
        {configurationRows(session).map((r) => {
          const warnings = session.warnings.filter((w) => w.field === r.key);
          return (
            <div key={r.key} className="encoder-row">
              <dt>{r.label}</dt>
              <dd>
                <span data-testid={`encoder-${r.key}`}>{r.value}</span>
                <button type="button" className="btn btn-ghost btn-small" aria-label={`Copy the ${r.label.toLowerCase()} value`} onClick={() => copy(r)} disabled={r.value === MISSING}>
                  Copy
                </button>
              </dd>
              {warnings.map((w) => (
                <p key={w.message} className={`notice notice-${w.severity === 'error' ? 'error' : 'warning'}`} data-testid={`warning-${w.field}`}>
                  {w.message}
                </p>
              ))}
            </div>
          );
        })}
      </dl>
    </section>
  );
}
