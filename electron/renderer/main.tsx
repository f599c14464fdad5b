import { render } from 'preact';
import { App } from './app';
import { connectApi } from './api';

// A file dropped outside a drop zone must not make the page navigate to it (the app would be gone).
for (const type of ['dragover', 'drop'] as const) {
  window.addEventListener(type, (event) => {
    if (!event.defaultPrevented) event.preventDefault();
  });
}

render(<App api={connectApi()} />, document.getElementById('app')!);
