import { Link } from 'react-router';

// StreamInfoLine shows a channel's title, category (a link to the directory filtered by it)
// and tags.
export function StreamInfoLine({ title, category, categoryName, tags, link = true }: { title?: string; category?: string; categoryName?: string; tags?: string[]; link?: boolean }) {
  if (!title && !categoryName && !tags?.length) return null;
  return (
    <div className="stream-info-line">
      {title && (
        <p className="stream-title" data-testid="stream-title" title={title}>
          {title}
        </p>
      )}
      <p className="stream-meta">
        {categoryName &&
          (link ? (
            <Link className="category-link" to={`/?category=${encodeURIComponent(category ?? '')}`}>
              {categoryName}
            </Link>
          ) : (
            <span className="category-link">{categoryName}</span>
          ))}
        {tags?.map((t) => (
          <span key={t} className="tag-pill">
            {t}
          </span>
        ))}
      </p>
    </div>
  );
}
