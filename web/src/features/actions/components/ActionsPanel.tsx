import { useEffect, useState, type ReactNode } from 'react';
import { useClientConfig } from '../../../lib/config';
import { useToast } from '../../../lib/toast';
import { Modal } from '../../../components/Modal';
import { useSaveAction, useStartAction, useStopAction, useStreamActions, type ActionData, type ActionName, type StreamAction } from '../api/actions';
import { AmazonProductForm, emptyOf, NoticeForm, ProductForm, QuizForm, validate } from './ActionForms';

type Spec = { name: ActionName; title: string; label: string; activeLabel: string; modalTitle?: string; confirm?: string; started: string };

// The reference's labels (web-ui/src/content/streamManager.json).
const specs: Spec[] = [
  { name: 'quiz', title: 'Quiz', label: 'Host', activeLabel: 'Hosting', modalTitle: 'Host a quiz', confirm: 'Start quiz', started: 'Host a quiz started' },
  { name: 'product', title: 'Product', label: 'Feature', activeLabel: 'Featuring', modalTitle: 'Feature a product', confirm: 'Show product', started: 'Feature a product started' },
  { name: 'notice', title: 'Notice', label: 'Show', activeLabel: 'Showing', modalTitle: 'Show a notice', confirm: 'Show notice', started: 'Show a notice started' },
  { name: 'celebration', title: 'Celebration', label: 'Trigger', activeLabel: 'Triggering', started: 'Trigger a celebration started' },
  { name: 'amazon_product', title: 'Amazon product', label: 'Amazon product', activeLabel: 'Featuring', modalTitle: 'Feature an Amazon product', confirm: 'Show product', started: 'Feature an Amazon product started' },
];

// ActionsPanel is the stream manager's stream actions: a button per action (with its
// countdown, or "On" for perpetual ones, while active; clicking it then stops it), and the
// modals that edit, save and send them.
export function ActionsPanel() {
  const state = useStreamActions();
  const config = useClientConfig();
  const start = useStartAction();
  const stop = useStopAction();
  const toast = useToast();
  const [open, setOpen] = useState<ActionName>();
  const now = useTicker();
  const active = state.data?.active ?? null;
  const running = active && (!active.expiresAt || Date.parse(active.expiresAt) > now) ? active : null;

  const send = async (spec: Spec, data: ActionData[ActionName]) => {
    try {
      await start.mutateAsync({ name: spec.name, data });
      toast.success(spec.started);
      return null;
    } catch (e) {
      toast.error('Unable to start stream action');
      return e instanceof Error ? e.message : 'Unable to start stream action';
    }
  };
  const onClick = async (spec: Spec) => {
    if (running?.name === spec.name) {
      try {
        await stop.mutateAsync();
      } catch {
        toast.error('Unable to send');
      }
      return;
    }
    if (spec.name === 'celebration') {
      await send(spec, state.data?.saved.celebration ?? emptyOf('celebration'));
      return;
    }
    setOpen(spec.name);
  };
  const visible = specs.filter((s) => s.name !== 'amazon_product' || config.data?.amazonProduct);
  const spec = specs.find((s) => s.name === open);

  return (
    <section className="card actions-panel" aria-label="Stream actions">
      <h2>Stream actions</h2>
      <div className="actions-grid">
        {visible.map((s) => {
          const on = running?.name === s.name;
          return (
            <button key={s.name} type="button" className={`action-button ${on ? 'on' : ''}`} data-testid={`stream-manager-${s.name}-action-button`} onClick={() => onClick(s)} aria-pressed={on} disabled={!state.data}>
              <span className="action-button-title">{s.title}</span>
              <span className="action-button-state">{on ? `${s.activeLabel} · ${countdown(running, now)}` : s.label}</span>
            </button>
          );
        })}
      </div>
      {spec && open && (
        <ActionModal key={open} spec={spec} saved={state.data?.saved[open as keyof ActionData]} onClose={() => setOpen(undefined)} onSend={(data) => send(spec, data)} />
      )}
    </section>
  );
}

function countdown(a: StreamAction, now: number) {
  if (!a.expiresAt) return 'On';
  const s = Math.max(0, Math.ceil((Date.parse(a.expiresAt) - now) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function useTicker() {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(t);
  }, []);
  return now;
}

type ModalProps = { spec: Spec; saved: unknown; onClose: () => void; onSend: (data: ActionData[ActionName]) => Promise<string | null> };

// ActionModal edits one action: Save validates and stores the form, Confirm validates with the
// duplicate checks and sends it, Cancel puts back the last saved values.
function ActionModal({ spec, saved, onClose, onSend }: ModalProps) {
  const name = spec.name;
  const initial = () => structuredClone((saved as ActionData[typeof name]) ?? emptyOf(name));
  const [value, setValue] = useState<ActionData[typeof name]>(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = useSaveAction();
  const toast = useToast();

  const onSave = async () => {
    const err = validate(name, value, false);
    setError(err);
    if (err) return;
    try {
      await save.mutateAsync({ name, data: value });
      toast.success('Stream action successfully saved');
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Unable to save');
      toast.error('Unable to save');
    }
  };
  const onConfirm = async () => {
    const err = validate(name, value, true);
    setError(err);
    if (err) return;
    setBusy(true);
    const failed = await onSend(value);
    setBusy(false);
    if (failed) setError(failed);
    else onClose();
  };
  const cancel = () => {
    setValue(initial());
    setError(null);
    onClose();
  };

  let form: ReactNode = null;
  switch (name) {
    case 'quiz':
      form = <QuizForm value={value as ActionData['quiz']} onChange={setValue} />;
      break;
    case 'product':
      form = <ProductForm value={value as ActionData['product']} onChange={setValue} />;
      break;
    case 'notice':
      form = <NoticeForm value={value as ActionData['notice']} onChange={setValue} />;
      break;
    case 'amazon_product':
      form = <AmazonProductForm value={value as ActionData['amazon_product']} onChange={setValue} />;
      break;
  }
  return (
    <Modal title={spec.modalTitle ?? spec.title} onClose={cancel} closeTestId="stream-action-modal-close-button">
      <form
        noValidate // our own checks give the reference's messages
        data-testid={`${name}-stream-action-form`}
        onSubmit={(e) => {
          e.preventDefault();
          void onConfirm();
        }}
      >
        {form}
        {error && (
          <p className="error-text" role="alert" data-testid="stream-action-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn btn-secondary" onClick={cancel}>
            Cancel
          </button>
          {name !== 'amazon_product' && (
            <button type="button" className="btn btn-secondary" onClick={onSave} disabled={save.isPending}>
              Save
            </button>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {spec.confirm}
          </button>
        </div>
      </form>
    </Modal>
  );
}
