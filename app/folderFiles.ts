// A model folder picked (<input webkitdirectory>) or dropped, read into { path, data } pairs
// (paths relative to the folder itself), the shape ModelSource `files` takes.

export interface PickedFile {
  path: string;
  data: ArrayBuffer;
}

function withoutTopFolder(path: string): string {
  const i = path.indexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Files from a directory picker: webkitRelativePath is "folder/sub/file". */
export async function readPickedFolder(list: FileList): Promise<{ name: string; files: PickedFile[] }> {
  const files: PickedFile[] = [];
  let name = 'local model';
  for (const file of Array.from(list)) {
    const rel = file.webkitRelativePath || file.name;
    if (rel.includes('/')) name = rel.slice(0, rel.indexOf('/'));
    files.push({ path: withoutTopFolder(rel), data: await file.arrayBuffer() });
  }
  return { name, files };
}

function entriesOf(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: prefix + entry.name, data: await file.arrayBuffer() });
  } else if (entry.isDirectory) {
    for (const child of await entriesOf(entry as FileSystemDirectoryEntry)) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/** A dropped folder (or loose files): the folder's contents with paths relative to it. */
export async function readDroppedFolder(items: DataTransferItemList): Promise<{ name: string; files: PickedFile[] } | null> {
  const entries = Array.from(items)
    .map((item) => item.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return null;
  const files: PickedFile[] = [];
  if (entries.length === 1 && entries[0].isDirectory) {
    for (const child of await entriesOf(entries[0] as FileSystemDirectoryEntry)) await walk(child, '', files);
    return { name: entries[0].name, files };
  }
  for (const e of entries) await walk(e, '', files);
  return { name: 'dropped files', files };
}
