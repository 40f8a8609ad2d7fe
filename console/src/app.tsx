import { useEffect } from 'react';
/** The shell: sign-in gate, top bar, and the page for the current route. */
import { AuthProvider, useGate } from './auth/auth';
import { TokenPrompt } from './auth/token-prompt';
import { ErrorMessage, Loading } from './components/feedback';
import { TopBar } from './components/top-bar';
import { LiveProvider } from './live/live-provider';
import { AuditPage } from './pages/audit';
import { BottlenecksPage } from './pages/bottlenecks';
import { BulkJobPage } from './pages/bulk-job';
import { FailureGroupPage } from './pages/failure-group';
import { ImpactPage } from './pages/impact';
import { NotFoundPage } from './pages/not-found';
import { OverviewPage } from './pages/overview';
import { TaskDetailPage } from './pages/task-detail';
import { TaskListPage } from './pages/task-list';
import { TemplatesPage } from './pages/templates';
import { TriagePage } from './pages/triage';
import { WorkersPage } from './pages/workers';
import { useLocation } from './router';
import { clearToken } from './auth/token';

function Page() {
  const { route } = useLocation();
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'tasks':
      return <TaskListPage />;
    case 'task':
      return <TaskDetailPage key={route.id} id={route.id} />;
    case 'bottlenecks':
      return <BottlenecksPage />;
    case 'impact':
      return <ImpactPage />;
    case 'templates':
      return <TemplatesPage />;
    case 'workers':
      return <WorkersPage />;
    case 'triage':
      return <TriagePage />;
    case 'failure-group':
      return <FailureGroupPage key={route.fingerprint} fingerprint={route.fingerprint} />;
    case 'bulk-job':
      return <BulkJobPage key={route.id} id={route.id} />;
    case 'audit':
      return <AuditPage />;
    default:
      return <NotFoundPage path={route.path} />;
  }
}

/** The DAG chunk (xyflow, dagre) is lazy for the first paint, then fetched while the user looks around. */
function usePreloadDag(ready: boolean) {
  useEffect(() => {
    if (!ready) return;
    const timer = setTimeout(() => void import('./components/dag/dag-view'), 1500);
    return () => clearTimeout(timer);
  }, [ready]);
}

export function App() {
  const gate = useGate();
  usePreloadDag(gate.kind === 'ready');
  switch (gate.kind) {
    case 'checking':
      return (
        <div className="gate">
          <Loading what="Connecting to Tasker" />
        </div>
      );
    case 'need-token':
      return <TokenPrompt rejected={gate.rejected} />;
    case 'forbidden':
      return (
        <div className="gate">
          <div className="gate__card">
            <h1>Not allowed</h1>
            <ErrorMessage error={new Error(gate.message)} />
            <p>This token cannot read tasks (it needs the tasks:read scope).</p>
            <button type="button" className="btn" onClick={clearToken}>
              Use another token
            </button>
          </div>
        </div>
      );
    case 'error':
      return (
        <div className="gate">
          <div className="gate__card">
            <h1>Tasker is not answering</h1>
            <ErrorMessage error={new Error(gate.message)} retry={gate.retry} />
          </div>
        </div>
      );
    case 'ready':
      return (
        <AuthProvider auth={gate.auth}>
          <LiveProvider>
            <a className="skip-link" href="#main">
              Skip to content
            </a>
            <TopBar />
            <main id="main" className="main" tabIndex={-1}>
              <Page />
            </main>
          </LiveProvider>
        </AuthProvider>
      );
  }
}
