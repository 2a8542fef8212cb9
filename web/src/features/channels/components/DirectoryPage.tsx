import { useState, type FormEvent, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useMe } from '../../../lib/session';
import { Spinner } from '../../../components/Spinner';
import { directoryChannels, useCategories, useDirectory, type DirectoryFilter } from '../api/channels';
import { ChannelCardView } from './ChannelCardView';
import { FollowingCarousel } from './FollowingCarousel';

// filterOf reads the directory's filter from the page URL (/?category=…&q=…&sort=…).
export function filterOf(params: URLSearchParams): DirectoryFilter {
  return { category: params.get('category') ?? '', q: params.get('q') ?? '', sort: params.get('sort') === 'viewers' ? 'viewers' : 'recent' };
}

// SearchBox is the directory's search form; keyed on the URL's query, so that going back
// shows the words of that page.
function SearchBox({ initial, onSearch }: { initial: string; onSearch: (q: string) => void }) {
  const [q, setQ] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(q.trim());
  };
  return (
    <form role="search" onSubmit={submit} className="directory-search">
      <input type="search" aria-label="Search live channels" placeholder="Search channels, titles, tags" value={q} maxLength={100} onChange={(e) => setQ(e.target.value)} />
      <button type="submit" className="btn btn-secondary">
        Search
      </button>
    </form>
  );
}

// DirectoryPage lists live channels, by category and search words; intro is what the app
// shows above them (the Go live checklist for a newcomer).
export function DirectoryPage({ intro }: { intro?: ReactNode }) {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const filter = filterOf(params);
  const dir = useDirectory(filter);
  const list = dir.data ? directoryChannels(dir.data.pages) : undefined;
  const cats = useCategories();
  const set = (key: keyof DirectoryFilter, value: string) => {
    const next = new URLSearchParams(params);
    if (value && !(key === 'sort' && value === 'recent')) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };
  const filtered = filter.category !== '' || filter.q !== '';
  const categoryName = cats.data?.categories.find((c) => c.slug === filter.category)?.name;
  return (
    <main className="page">
      {intro}
      {me.data && !filtered && <FollowingCarousel />}
      <section aria-labelledby="live-heading">
        <h1 id="live-heading">{categoryName ? `Live in ${categoryName}` : 'Live streams'}</h1>
        <div className="directory-filters">
          <SearchBox key={filter.q} initial={filter.q} onSearch={(q) => set('q', q)} />
          <label className="directory-select">
            <span>Category</span>
            <select value={filter.category} onChange={(e) => set('category', e.target.value)}>
              <option value="">All categories</option>
              {cats.data?.categories.map((c) => (
                <option key={c.slug} value={c.slug}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label className="directory-select">
            <span>Sort by</span>
            <select value={filter.sort} onChange={(e) => set('sort', e.target.value)}>
              <option value="recent">Recently started</option>
              <option value="viewers">Most viewers</option>
            </select>
          </label>
        </div>
        {dir.isPending && <Spinner />}
        {dir.isError && (
          <div className="empty">
            <p>{filtered ? dir.error.message : 'Error loading streams'}</p>
            <button type="button" className="btn btn-secondary" onClick={() => dir.refetch()}>
              Try again
            </button>
          </div>
        )}
        {list && list.length === 0 && (
          <div className="empty">
            <p className="empty-title">{filtered ? 'No live channels match' : 'No live streams available'}</p>
            <p className="muted">{filtered ? 'Try other words or another category.' : 'Channels show up here as soon as they go live.'}</p>
          </div>
        )}
        {list && list.length > 0 && (
          <div className="channel-grid" data-testid="live-grid">
            {list.map((c) => (
              <ChannelCardView key={c.channelId} channel={c} />
            ))}
          </div>
        )}
        {dir.hasNextPage && (
          <div className="directory-more">
            <button type="button" className="btn btn-secondary" disabled={dir.isFetchingNextPage} onClick={() => dir.fetchNextPage()}>
              {dir.isFetchingNextPage ? 'Loading…' : 'Show more'}
            </button>
          </div>
        )}
      </section>
    </main>
  );
}
