import { useState } from 'react';
import { Link } from 'react-router';
import type { Me } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { Modal } from '../../../components/Modal';
import { useResetStreamKey } from '../api/channels';

function CopyRow({ id, label, value, secret }: { id: string; label: string; value: string; secret?: boolean }) {
  const toast = useToast();
  const [shown, setShown] = useState(!secret);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      toast.success(`${label} copied`);
    } catch {
      toast.error(`Could not copy the ${label.toLowerCase()}`);
    }
  };
  return (
    <div className="copy-row">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row-input">
        <input id={id} readOnly type={shown ? 'text' : 'password'} value={value} />
        {secret && (
          <button type="button" className="btn btn-ghost" onClick={() => setShown(!shown)} aria-label={shown ? `Hide ${label}` : `Show ${label}`}>
            {shown ? 'Hide' : 'Show'}
          </button>
        )}
        <button type="button" className="btn btn-ghost" aria-label={`Copy ${label} value`} onClick={copy}>
          Copy
        </button>
      </div>
    </div>
  );
}

// VerifyToGoLive stands where the stream key would be while the account's email is not
// verified: the server neither shows such a key nor accepts it.
export function VerifyToGoLive({ email }: { email: string }) {
  return (
    <div className="notice" role="status">
      <strong>Verify your email to go live.</strong>{' '}
      <span className="muted">Open the link we sent to {email}; your stream key appears here once you have.</span>
    </div>
  );
}

export function StreamSettings({ me }: { me: Me }) {
  const [confirm, setConfirm] = useState(false);
  const reset = useResetStreamKey();
  const toast = useToast();
  const doReset = async () => {
    try {
      await reset.mutateAsync();
      toast.success('Stream key has been reset');
    } catch {
      toast.error('Failed to reset the stream key');
    }
    setConfirm(false);
  };
  return (
    <section className="card settings-section" aria-labelledby="stream-heading">
      <h2 id="stream-heading">Stream settings</h2>
      {me.emailVerified && me.channel.streamKey ? (
        <>
          <CopyRow id="streamKeyValue" label="Stream key" value={me.channel.streamKey} secret />
          <button type="button" className="btn btn-secondary" onClick={() => setConfirm(true)}>
            Reset stream key
          </button>
        </>
      ) : (
        <VerifyToGoLive email={me.email} />
      )}
      <CopyRow id="ingestServerUrl" label="Ingest server URL" value={me.channel.rtmpUrl} />
      {me.channel.rtmpsUrl && <CopyRow id="rtmpsUrl" label="RTMPS server URL" value={me.channel.rtmpsUrl} />}
      {me.channel.srtUrl && (
        <CopyRow id="srtUrl" label="SRT URL (the stream key goes after publish:)" value={me.channel.srtUrl} />
      )}
      <CopyRow id="whipUrl" label="WHIP URL" value={me.channel.whipUrl} />
      <CopyRow id="playbackUrl" label="Playback URL" value={me.channel.playbackUrl} />
      {me.channel.streamKey && (
        <Link to="/manager" state={{ goLive: true }} className="btn btn-primary">
          Go live from web
        </Link>
      )}
      {confirm && (
        <Modal title="Reset stream key" onClose={() => setConfirm(false)}>
          <p>Are you sure you would like to reset your stream key?</p>
          <p className="muted">Your current live stream will be terminated and you will need to use the new key to go live.</p>
          <div className="modal-actions">
            <button type="button" className="btn btn-secondary" onClick={() => setConfirm(false)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={doReset} disabled={reset.isPending}>
              Reset stream key
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
