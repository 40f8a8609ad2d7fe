import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api/client';
import { App } from './app';

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

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
