/** Whether a process with this id runs on this host (EPERM: it does, as another user). No imports: any layer may use it. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
