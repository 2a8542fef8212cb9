import { useState, type FormEvent } from 'react';
import type { Me } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { useCategories, useStreamInfo } from '../api/channels';

export const maxTitle = 140;
export const maxTags = 5;

// parseTags splits what the streamer typed (commas or spaces between tags) into tags; the
// server checks each and drops repeats.
export function parseTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.replace(/^#/, ''))
    .filter((t) => t !== '');
}

// StreamInfoForm sets the stream's title, category and tags, before or during a stream.
export function StreamInfoForm({ me }: { me: Me }) {
  const cats = useCategories();
  const save = useStreamInfo();
  const toast = useToast();
  const [title, setTitle] = useState(me.channel.title);
  const [category, setCategory] = useState(me.channel.category);
  const savedTags = me.channel.tags.join(', ');
  const [tags, setTags] = useState(savedTags);
  const [error, setError] = useState('');
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    const list = parseTags(tags);
    if (list.length > maxTags) {
      setError(`Up to ${maxTags} tags.`);
      return;
    }
    try {
      await save.mutateAsync({ title, category, tags: list });
      toast.success('Stream info saved');
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Could not save the stream info.');
    }
  };
  return (
    <form className="card stream-info" onSubmit={onSubmit} aria-labelledby="stream-info-heading">
      <h2 id="stream-info-heading">Stream info</h2>
      <label className="field">
        <span>Title</span>
        <input value={title} maxLength={maxTitle} onChange={(e) => setTitle(e.target.value)} placeholder="What are you streaming?" />
        <small className="muted">
          {[...title].length}/{maxTitle}
        </small>
      </label>
      <label className="field">
        <span>Category</span>
        <select value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">No category</option>
          {cats.data?.categories.map((c) => (
            <option key={c.slug} value={c.slug}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Tags</span>
        <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="up to 5, e.g. chess, beginner-friendly" />
      </label>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          Save stream info
        </button>
      </div>
    </form>
  );
}
