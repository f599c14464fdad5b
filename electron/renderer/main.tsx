import { render } from 'preact';
import { App } from './app';
import { connectApi } from './api';

render(<App api={connectApi()} />, document.getElementById('app')!);
