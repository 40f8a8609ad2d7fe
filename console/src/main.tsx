import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, api } from './api/client';
import { keys, LIST_LIMIT } from './api/queries';
import { App } from './app';
import { listSearch, parseListSearch, toApiQuery } from './lib/task-filters';

const client = new QueryClient({
  queryCache: new QueryCache(),
  defaultOptions: {
    queries: {
      staleTime: 5000,
      // A 4xx will not fix itself by asking again; network errors and 5xx get two more tries.
      retry: (count, error) =>
        !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

// Opened straight on a page with a DAG (a link to a task, the templates): fetch its chunk now, alongside
// the page's data, instead of after the first render asks for it.
if (/\/ui\/(tasks\/[^/]+|templates)\/?$/.test(window.location.pathname))
  void import('./components/dag/dag-view');

// Opened straight on the task list: ask for its first page now, alongside the sign-in check (whoami),
// instead of after that check renders the page: one round trip less before the first row. A 401 here
// changes nothing; whoami's answer decides what is shown, and the page fetches again once signed in.
if (/\/ui\/tasks\/?$/.test(window.location.pathname)) {
  const state = parseListSearch(window.location.search);
  void client.prefetchQuery({
    queryKey: keys.taskList(listSearch(state)),
    queryFn: ({ signal }) => api.listTasks(toApiQuery(state, LIST_LIMIT), signal),
    retry: false,
  });
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
