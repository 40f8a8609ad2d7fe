import { Link } from '../router';
import { useTitle } from './use-title';

export function NotFoundPage({ path }: { path: string }) {
  useTitle('Not found');
  return (
    <div className="page">
      <h1 className="page__title">Nothing here</h1>
      <p>
        No console page at <code>{path}</code>. <Link to="">Go to the overview</Link>.
      </p>
    </div>
  );
}
