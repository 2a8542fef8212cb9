import { useLatestSession } from '../api/sessions';
import { limitStatus } from './limits';

// EncoderLimitWarning warns the streamer, while live, that the encoder is near or over the
// channel's bitrate limit: before the cut, not on /health afterwards.
export function EncoderLimitWarning() {
  const latest = useLatestSession();
  const status = limitStatus(latest.session);
  if (!status) return null;
  return (
    <p className={`notice limit-warning ${status.level === 'over' ? 'notice-error' : 'notice-warning'}`} role={status.level === 'over' ? 'alert' : 'status'} data-testid="encoder-limit-warning">
      <strong>{status.level === 'over' ? '⚠ Over the limit: ' : '⚠ Near the limit: '}</strong>
      {status.message}
    </p>
  );
}
