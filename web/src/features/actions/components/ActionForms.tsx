import { useState } from 'react';
import { defaults, limits, searchProducts, type ActionData, type ProductResult } from '../api/actions';
import { imageSrc } from '../../../lib/images';

// The forms of the stream manager's action modals. Each edits a copy of the action's data;
// validate() returns the reference's messages.

type FormProps<N extends keyof ActionData> = { value: ActionData[N]; onChange: (v: ActionData[N]) => void };

export function validate<N extends keyof ActionData>(name: N, v: ActionData[N], sending: boolean): string | null {
  const need = (s: string, label: string, max: number) => {
    if (sending && !s.trim()) return `${label} is required.`;
    if ([...s.trim()].length > max) return `${label} must be ${max} characters or fewer.`;
    return null;
  };
  const duration = (d: number) => (d < limits.duration.min || d > limits.duration.max ? `Duration must be between ${limits.duration.min} and ${limits.duration.max} seconds.` : null);
  switch (name) {
    case 'quiz': {
      const q = v as ActionData['quiz'];
      const seen = new Set<string>();
      for (const a of q.answers) {
        const err = need(a, 'Answer', limits.quiz.answer);
        if (err) return err;
        if (sending && seen.has(a.trim())) return 'Duplicate answer: each answer must be unique.';
        seen.add(a.trim());
      }
      if (q.answers.length < limits.quiz.answersMin || q.answers.length > limits.quiz.answersMax) return `A quiz needs ${limits.quiz.answersMin} to ${limits.quiz.answersMax} answers.`;
      return need(q.question, 'Question', limits.quiz.question) ?? duration(q.duration);
    }
    case 'product': {
      const p = v as ActionData['product'];
      const url = p.imageUrl.trim();
      if (url && !/^https?:\/\/[^\s/]+/.test(url)) return 'Image URL must be a valid http or https URL.';
      return need(p.title, 'Title', limits.product.title) ?? need(p.price, 'Price', limits.product.price) ?? need(p.imageUrl, 'Image URL', limits.product.imageUrl) ?? need(p.description, 'Description', limits.product.description);
    }
    case 'notice': {
      const n = v as ActionData['notice'];
      return need(n.title, 'Title', limits.notice.title) ?? need(n.message, 'Message', limits.notice.message) ?? duration(n.duration);
    }
    case 'amazon_product': {
      const a = v as ActionData['amazon_product'];
      return sending && !a.productUrl ? 'Choose a product.' : null;
    }
  }
  return null;
}

function Duration({ value, onChange }: { value: number; onChange: (n: number) => void }) {
  return (
    <label className="field">
      <span>Duration</span>
      <div className="duration-row">
        <input type="range" min={limits.duration.min} max={limits.duration.max} value={value} onChange={(e) => onChange(Number(e.target.value))} data-testid="streamManagerActionFormDuration-range-input" aria-label="Duration (range)" />
        <input type="number" min={limits.duration.min} max={limits.duration.max} value={value} onChange={(e) => onChange(Number(e.target.value))} aria-label="Duration" className="duration-number" />
        <span className="muted">s</span>
      </div>
    </label>
  );
}

export function QuizForm({ value, onChange }: FormProps<'quiz'>) {
  const setAnswer = (i: number, a: string) => onChange({ ...value, answers: value.answers.map((x, j) => (j === i ? a : x)) });
  const remove = (i: number) =>
    onChange({ ...value, answers: value.answers.filter((_, j) => j !== i), correctAnswerIndex: value.correctAnswerIndex > i ? value.correctAnswerIndex - 1 : value.correctAnswerIndex === i ? 0 : value.correctAnswerIndex });
  return (
    <>
      <input className="input" placeholder="Question" aria-label="Question" value={value.question} maxLength={limits.quiz.question} onChange={(e) => onChange({ ...value, question: e.target.value })} />
      <fieldset className="quiz-form-answers">
        <legend>Answers (select the correct one)</legend>
        {value.answers.map((a, i) => (
          <div key={i} className="quiz-form-answer">
            <input type="radio" name="correct" checked={value.correctAnswerIndex === i} onChange={() => onChange({ ...value, correctAnswerIndex: i })} aria-label={`Answer ${i + 1} is correct`} data-testid={`streamManagerActionQuizFormAnswers-${a}-radio-button`} />
            <input className="input" placeholder="Answer" aria-label={`Answer ${i + 1}`} value={a} maxLength={limits.quiz.answer} onChange={(e) => setAnswer(i, e.target.value)} />
            {value.answers.length > limits.quiz.answersMin && (
              <button type="button" className="icon-btn" aria-label={`Delete answer ${i + 1}`} data-testid={`delete-${a}-item-button`} onClick={() => remove(i)}>
                ×
              </button>
            )}
          </div>
        ))}
        {value.answers.length < limits.quiz.answersMax && (
          <button type="button" className="btn btn-secondary" onClick={() => onChange({ ...value, answers: [...value.answers, ''] })}>
            Add answer
          </button>
        )}
      </fieldset>
      <Duration value={value.duration} onChange={(duration) => onChange({ ...value, duration })} />
    </>
  );
}

function Text({ label, value, max, onChange, long = false }: { label: string; value: string; max: number; onChange: (s: string) => void; long?: boolean }) {
  return (
    <label className="field">
      <span>{label}</span>
      {long ? <textarea className="input" value={value} maxLength={max} onChange={(e) => onChange(e.target.value)} /> : <input className="input" value={value} maxLength={max} onChange={(e) => onChange(e.target.value)} />}
    </label>
  );
}

export function ProductForm({ value, onChange }: FormProps<'product'>) {
  return (
    <>
      <Text label="Title" value={value.title} max={limits.product.title} onChange={(title) => onChange({ ...value, title })} />
      <Text label="Price" value={value.price} max={limits.product.price} onChange={(price) => onChange({ ...value, price })} />
      <Text label="Image URL" value={value.imageUrl} max={limits.product.imageUrl} onChange={(imageUrl) => onChange({ ...value, imageUrl })} />
      <Text label="Description" value={value.description} max={limits.product.description} onChange={(description) => onChange({ ...value, description })} long />
    </>
  );
}

export function NoticeForm({ value, onChange }: FormProps<'notice'>) {
  return (
    <>
      <input className="input" placeholder="Title" aria-label="Title" value={value.title} maxLength={limits.notice.title} onChange={(e) => onChange({ ...value, title: e.target.value })} />
      <textarea className="input" placeholder="Message" aria-label="Message" value={value.message} maxLength={limits.notice.message} onChange={(e) => onChange({ ...value, message: e.target.value })} />
      <Duration value={value.duration} onChange={(duration) => onChange({ ...value, duration })} />
    </>
  );
}

const sorts = [
  ['Relevance', 'Relevance'],
  ['NewestArrivals', 'Newest arrivals'],
  ['Price:LowToHigh', 'Price: low to high'],
  ['Price:HighToLow', 'Price: high to low'],
  ['Featured', 'Featured'],
] as const;
const maxPages = 5;

// AmazonProductForm searches the Product Advertising API through the server and picks one
// result (10 per page, up to 5 pages).
export function AmazonProductForm({ value, onChange }: FormProps<'amazon_product'>) {
  const [keyword, setKeyword] = useState('');
  const [sort, setSort] = useState<string>('Relevance');
  const [results, setResults] = useState<ProductResult[]>([]);
  const [page, setPage] = useState(0);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const load = async (next: number, fresh: boolean) => {
    if (!keyword.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      const r = await searchProducts(keyword.trim(), sort, next);
      setResults((old) => (fresh ? r.items : [...old, ...r.items]));
      setPage(next);
      setMore(r.hasMore);
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Product search failed.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <div className="amazon-search">
        <input className="input" placeholder="Search Amazon products" aria-label="Keyword" value={keyword} maxLength={limits.amazonKeyword} onChange={(e) => setKeyword(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), load(1, true))} />
        <select value={sort} onChange={(e) => setSort(e.target.value)} aria-label="Sort by">
          {sorts.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-secondary" onClick={() => load(1, true)} disabled={busy}>
          Search
        </button>
      </div>
      {error && <p className="error-text" role="alert">{error}</p>}
      <ul className="amazon-results">
        {results.map((r) => (
          <li key={r.productUrl}>
            <label className={`amazon-result ${value.productUrl === r.productUrl ? 'selected' : ''}`}>
              <input type="radio" name="amazon-product" checked={value.productUrl === r.productUrl} onChange={() => onChange({ title: r.title, price: r.price, imageUrl: r.imageUrl, productUrl: r.productUrl })} />
              <img src={imageSrc(r.imageUrl)} alt="" />
              <span>{r.title}</span>
              <strong>{r.price}</strong>
            </label>
          </li>
        ))}
      </ul>
      {results.length > 0 && page < maxPages && more && (
        <button type="button" className="btn btn-secondary" onClick={() => load(page + 1, false)} disabled={busy}>
          Load more
        </button>
      )}
    </>
  );
}

export const emptyOf = <N extends keyof ActionData>(name: N): ActionData[N] => structuredClone(defaults[name]);
