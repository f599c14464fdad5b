import { useRef, useState } from 'preact/hooks';
import type { FileSource } from '../../../src/gui/contract';
import { useApp } from '../context';
import { errorMessage, fileToSource, uid } from '../util';

interface FilePickerProps {
  /** What is being opened, e.g. "File to inspect". */
  legend: string;
  onPick(source: FileSource): void | Promise<void>;
  actionLabel?: string;
  accept?: string;
  /** A name for tests and the accessibility tree: used in ids. */
  name: string;
  /** Several files at once (upload or drop): onPick is called for each. */
  multiple?: boolean;
}

/**
 * Every way to hand the service a file: a path (typed, or from the native dialog in Electron), an upload, or a
 * file dropped anywhere on the group. Keyboard users have the path field and the upload button.
 */
export function FilePicker({ legend, onPick, actionLabel = 'Open', accept, name, multiple = false }: FilePickerProps) {
  const { info, api, notify } = useApp();
  const [path, setPath] = useState('');
  const [dragging, setDragging] = useState(false);
  const ids = useRef({ path: uid(`${name}-path`), upload: uid(`${name}-upload`), hint: uid(`${name}-hint`) }).current;

  const pick = async (source: FileSource) => {
    try {
      await onPick(source);
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  const choose = async () => {
    try {
      const choice = await api.chooseFile({ kind: 'open', title: legend, defaultPath: path || undefined });
      if (choice.path) {
        setPath(choice.path);
        await pick({ path: choice.path });
      }
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  const onDrop = async (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const files = [...(event.dataTransfer?.files ?? [])];
    for (const file of multiple ? files : files.slice(0, 1)) await pick(await fileToSource(file));
  };

  return (
    <fieldset
      class={`picker${dragging ? ' dragging' : ''}`}
      data-picker={name}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <legend>{legend}</legend>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (path.trim()) void pick({ path: path.trim() });
        }}
      >
        <label for={ids.path}>Path</label>
        <input
          id={ids.path}
          class="grow"
          type="text"
          value={path}
          spellcheck={false}
          autocomplete="off"
          aria-describedby={ids.hint}
          onInput={(e) => setPath((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={!path.trim()}>
          {actionLabel}
        </button>
        {info?.dialogs && (
          <button type="button" onClick={() => void choose()}>
            Choose…
          </button>
        )}
      </form>
      <div class="row">
        <label for={ids.upload}>Or upload</label>
        <input
          id={ids.upload}
          type="file"
          accept={accept}
          multiple={multiple}
          onChange={async (e) => {
            const input = e.target as HTMLInputElement;
            const files = [...(input.files ?? [])];
            for (const file of multiple ? files : files.slice(0, 1)) await pick(await fileToSource(file));
            input.value = '';
          }}
        />
      </div>
      <p id={ids.hint} class="hint">
        A path on the machine running openctl, an upload, or drop a file here.
      </p>
    </fieldset>
  );
}

interface PathFieldProps {
  label: string;
  value: string;
  onChange(value: string): void;
  kind: 'open' | 'save' | 'folder';
  name: string;
}

/** A path to read, write to, or a folder, with the native dialog where there is one (the service reads paths on its own machine). */
export function PathField({ label, value, onChange, kind, name }: PathFieldProps) {
  const { info, api, notify } = useApp();
  const id = useRef(uid(name)).current;
  const choose = async () => {
    try {
      const choice = await api.chooseFile({ kind, title: label, defaultPath: value || undefined });
      if (choice.path) onChange(choice.path);
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
  };
  return (
    <div class="row field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        class="grow"
        type="text"
        value={value}
        spellcheck={false}
        autocomplete="off"
        onInput={(e) => onChange((e.target as HTMLInputElement).value)}
      />
      {info?.dialogs && (
        <button type="button" onClick={() => void choose()}>
          Choose…
        </button>
      )}
    </div>
  );
}
