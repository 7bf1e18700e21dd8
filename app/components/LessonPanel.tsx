// Lesson: share the model choice, the recipe and the labels (or a small dataset) as a link —
// packed into the link's #fragment, which never reaches a server — or as a .whetstone.json file.
// A lesson file dropped anywhere on the page (or picked here) opens like a link.
import { useEffect, useState } from 'react';
import { LESSON_FILE_SUFFIX, MAX_LESSON_LINK_CHARS } from '../classroom/lesson.ts';
import { hasShareableLabels } from '../store/createLessonSlice.ts';
import { useStudio } from '../store/index.ts';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function LessonPanel() {
  const share = useStudio((s) => s.lessonShare);
  const setShare = useStudio((s) => s.setLessonShare);
  const shareLesson = useStudio((s) => s.shareLesson);
  const saveFile = useStudio((s) => s.saveLessonFile);
  const openFile = useStudio((s) => s.openLessonFile);
  const labelsShareable = useStudio((s) => hasShareableLabels(s));
  const pairs = useStudio((s) => s.labels.filter((l) => l.kind === 'pair').length);
  const datasetName = useStudio((s) => s.dataset.file?.name ?? null);
  const [copied, setCopied] = useState(false);

  // A lesson file dropped anywhere the other panels do not take drops.
  useEffect(() => {
    const isLesson = (e: DragEvent) => Array.from(e.dataTransfer?.items ?? []).some((i) => i.kind === 'file');
    const onDragOver = (e: DragEvent) => {
      if (!e.defaultPrevented && isLesson(e)) e.preventDefault();
    };
    const onDrop = (e: DragEvent) => {
      const file = e.dataTransfer?.files[0];
      if (e.defaultPrevented || !file) return;
      e.preventDefault();
      if (file.name.endsWith(LESSON_FILE_SUFFIX) || file.name.endsWith('.json')) void file.text().then((text) => openFile({ name: file.name, text }));
    };
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('drop', onDrop);
    };
  }, [openFile]);

  return (
    <Panel title="Lesson" subtitle="Send this setup to a class as a link or a file" className="lesson-panel">
      <fieldset className="lesson-content">
        <legend>The lesson carries</legend>
        <label className="checkbox">
          <input type="radio" name="lesson-content" checked={share.content === 'labels'} disabled={!labelsShareable} onChange={() => setShare({ content: 'labels' })} />
          My labels ({pairs} pair{pairs === 1 ? '' : 's'})
        </label>
        <label className="checkbox">
          <input type="radio" name="lesson-content" checked={share.content === 'dataset'} disabled={!datasetName} onChange={() => setShare({ content: 'dataset' })} />
          The dataset{datasetName ? ` (${datasetName})` : ''}
        </label>
        <span className="field-help">…with the model choice and the recipe.</span>
      </fieldset>
      <label className="field">
        <span className="field-label">Lesson title (optional)</span>
        <input type="text" value={share.title} maxLength={200} onChange={(e) => setShare({ title: e.target.value })} />
      </label>
      <div className="actions">
        <button type="button" onClick={shareLesson}>
          Share lesson
        </button>
        <button type="button" className="secondary" onClick={saveFile}>
          Save lesson file
        </button>
      </div>
      {share.link && (
        <div className="lesson-link">
          <label className="field">
            <span className="field-label">Lesson link</span>
            <input type="text" readOnly value={share.link} onFocus={(e) => e.target.select()} />
          </label>
          <div className="actions">
            <button
              type="button"
              className="secondary"
              onClick={() =>
                void navigator.clipboard?.writeText(share.link!).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              Copy link
            </button>
            <span className="muted">
              {share.link.length.toLocaleString()} characters{copied ? ' · copied' : ''}
            </span>
          </div>
        </div>
      )}
      {share.tooLong && (
        <p className="warning" role="note">
          This lesson is too big for a link (over {MAX_LESSON_LINK_CHARS.toLocaleString()} characters, where mail and chat apps start cutting links). Use
          Save lesson file and send the file instead.
        </p>
      )}
      {share.error && <Problem error={share.error} />}
      <p className="privacy muted">
        Nothing is uploaded. The lesson is packed (compressed) into the part of the link after <code>#</code>, which browsers never send to a server: the page
        unpacks it on the student&apos;s machine. Anyone who has the link can read the lesson.
      </p>
      <label className="field">
        <span className="field-label">Open a lesson file</span>
        <input
          type="file"
          accept={`${LESSON_FILE_SUFFIX},.json,application/json`}
          aria-label="Lesson file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void file.text().then((text) => openFile({ name: file.name, text }));
            e.target.value = '';
          }}
        />
        <span className="field-help">A {LESSON_FILE_SUFFIX} file — or drop it anywhere on the page.</span>
      </label>
    </Panel>
  );
}
