import type { ComponentChildren } from 'preact';

/** A column heading; `{ srOnly }` names a column (of buttons, say) for screen readers only. */
export type Column = ComponentChildren | { srOnly: string };

function isSrOnly(column: Column): column is { srOnly: string } {
  return typeof column === 'object' && column !== null && 'srOnly' in column;
}

/**
 * Every table of the app: scrolls sideways inside its own box on narrow windows, has a caption (its accessible
 * name) and scoped column headings. The rows are the children.
 */
export function DataTable({ caption, columns, testId, className = 'wrap-table', children }: { caption: ComponentChildren; columns: Column[]; testId?: string; className?: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table data-testid={testId} class={className}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th scope="col" key={i}>
                {isSrOnly(c) ? <span class="sr-only">{c.srOnly}</span> : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
