import { useEffect, useMemo, useState, type CSSProperties } from 'react';
import { imageSrc } from '../../../lib/images';
import { colorValue } from '../../../lib/profile';
import { clearAction, useCurrentAction, visibleFor, type CurrentAction } from '../../../lib/timed-metadata';
import { Modal } from '../../../components/Modal';

type Props = {
  channel: string;
  color: string;
  live: boolean;
  // Where this copy is drawn: over the player, or in the tab beside chat on stacked layouts
  // (quiz and products go there; notices and celebrations stay over the player).
  placement: 'player' | 'tab';
  stacked: boolean;
};

const inverted = new Set(['blue', 'green', 'purple']);

// profileStyle paints an overlay in the streamer's profile color.
function profileStyle(color: string): CSSProperties {
  return { '--action-bg': colorValue[color] ?? colorValue.blue, '--action-fg': inverted.has(color) ? '#fff' : '#14121f' } as CSSProperties;
}

// ViewerOverlay shows the stream action in force at this viewer's playhead.
export function ViewerOverlay({ channel, color, live, placement, stacked }: Props) {
  const action = useCurrentAction(channel, live);
  const now = useNow(action !== null);
  useEffect(() => {
    if (!action) return;
    const span = visibleFor(action);
    if (span === null) return;
    const t = window.setTimeout(() => clearAction(channel, action.id), Math.max(0, action.startedAt + span - Date.now()));
    return () => window.clearTimeout(t);
  }, [action, channel]);
  if (!action) return null;
  const card = action.name === 'quiz' || action.name === 'product' || action.name === 'amazon_product';
  if (placement !== (card && stacked ? 'tab' : 'player')) return null;
  const style = profileStyle(color);
  switch (action.name) {
    case 'quiz':
      return <Quiz key={action.id} action={action} now={now} style={style} />;
    case 'product':
      return <Product key={action.id} action={action} style={style} />;
    case 'amazon_product':
      return <AmazonProduct key={action.id} action={action} style={style} />;
    case 'notice':
      return <Notice key={action.id} action={action} style={style} />;
    case 'celebration':
      return <Celebration key={action.id} action={action} color={color} />;
  }
  return null;
}

// useNow ticks every 100 ms while something counts down.
function useNow(running: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(() => setNow(Date.now()), 100);
    return () => window.clearInterval(t);
  }, [running]);
  return now;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function Quiz({ action, now, style }: { action: CurrentAction; now: number; style: CSSProperties }) {
  const question = str(action.data.question);
  const answers = Array.isArray(action.data.answers) ? (action.data.answers as string[]) : [];
  const correct = Number(action.data.correctAnswerIndex);
  const duration = Number(action.data.duration) * 1000;
  const [picked, setPicked] = useState<number>();
  const [closed, setClosed] = useState(false);
  useEffect(() => {
    if (picked === undefined) return;
    const t = window.setTimeout(() => setClosed(true), 2000); // the reference closes 2 s after an answer
    return () => window.clearTimeout(t);
  }, [picked]);
  if (closed) return null;
  const left = Math.max(0, 1 - (now - action.startedAt) / duration);
  return (
    <div className="action-card action-quiz" style={style} data-testid="quiz-overlay">
      <h3>{question}</h3>
      <div className="quiz-answers">
        {answers.map((a, i) => {
          const state = picked === undefined ? '' : i === correct ? 'correct' : i === picked ? 'incorrect' : 'muted';
          return (
            <button key={i} type="button" className={`quiz-answer ${state}`} disabled={picked !== undefined} onClick={() => setPicked(i)} data-testid={`quiz-answer-${i}`}>
              {(state === 'correct' || state === 'incorrect') && (
                <span className="quiz-answer-mark" aria-hidden="true">
                  {state === 'correct' ? '✓' : '✗'}
                </span>
              )}
              <span>{a}</span>
              {state === 'correct' && <span className="quiz-answer-label">Correct answer</span>}
              {state === 'incorrect' && <span className="quiz-answer-label">Your answer</span>}
            </button>
          );
        })}
      </div>
      {picked !== undefined && (
        <p className="quiz-result" role="status">
          {picked === correct ? 'Correct!' : 'Incorrect'}
        </p>
      )}
      <div className="action-progress" aria-hidden="true">
        <span style={{ width: `${left * 100}%` }} />
      </div>
    </div>
  );
}

function Product({ action, style }: { action: CurrentAction; style: CSSProperties }) {
  const [more, setMore] = useState(false);
  const title = str(action.data.title);
  return (
    <div className="action-card action-product" style={style} data-testid="product-overlay">
      <img src={imageSrc(str(action.data.imageUrl))} alt={title} />
      <div className="action-product-text">
        <h3>{title}</h3>
        <p className="action-price">{str(action.data.price)}</p>
        <div className="action-buttons">
          <button type="button" className="btn action-btn">
            Buy now
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => setMore(true)}>
            Learn more
          </button>
        </div>
      </div>
      {more && (
        <Modal title={title} onClose={() => setMore(false)}>
          <img className="action-product-large" src={imageSrc(str(action.data.imageUrl))} alt={title} />
          <p className="action-price">{str(action.data.price)}</p>
          <p>{str(action.data.description)}</p>
          <div className="modal-actions">
            <button type="button" className="btn btn-primary">
              Add to cart
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

function AmazonProduct({ action, style }: { action: CurrentAction; style: CSSProperties }) {
  const title = str(action.data.title);
  const url = str(action.data.productUrl);
  return (
    <div className="action-card action-product" style={style} data-testid="amazon-product-overlay">
      <img src={imageSrc(str(action.data.imageUrl))} alt={title} />
      <div className="action-product-text">
        <h3>{title}</h3>
        <p className="action-price">{str(action.data.price)}</p>
        <div className="action-buttons">
          {/^https?:\/\//.test(url) && (
            <a className="btn action-btn" href={url} target="_blank" rel="noopener noreferrer sponsored">
              Buy now on Amazon
            </a>
          )}
        </div>
      </div>
    </div>
  );
}

function Notice({ action, style }: { action: CurrentAction; style: CSSProperties }) {
  return (
    <div className="action-notice" style={style} data-testid="notice-overlay" role="status">
      <span className="action-notice-title">{str(action.data.title)}</span>
      <div className="action-marquee">
        <span>{str(action.data.message)}</span>
      </div>
    </div>
  );
}

const confettiCount = 200;

function Celebration({ action, color }: { action: CurrentAction; color: string }) {
  const pieces = useMemo(() => confetti(action.id, color), [action.id, color]);
  return (
    <div className="action-celebration" data-testid="celebration-overlay" aria-label="Celebration">
      <div className="celebration-banner" style={profileStyle(color)}>
        🎉 Celebration!
      </div>
      {pieces.map((p, i) => (
        <span
          key={i}
          className="confetti"
          style={{ left: `${p.left}%`, background: p.color, animationDelay: `${p.delay}s`, animationDuration: `${p.fall}s`, '--turn': `${p.turn}deg` } as CSSProperties}
        />
      ))}
    </div>
  );
}

// confetti places 200 pieces in the profile colors, each with its own place, delay and spin,
// the same for every render of one celebration.
function confetti(id: string, color: string) {
  const palette = [colorValue[color] ?? colorValue.blue, ...Object.values(colorValue)];
  let seed = [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed % 10000) / 10000;
  };
  return Array.from({ length: confettiCount }, (_, i) => ({
    left: rand() * 100,
    delay: rand() * 2.5,
    fall: 2.5 + rand() * 2,
    turn: rand() * 720 - 360,
    color: i % 3 === 0 ? palette[0] : palette[Math.floor(rand() * palette.length)],
  }));
}
