/** True where the addon loaded and the C library is glibc: trim() can hand memory back. */
export declare const supported: boolean;
/** malloc_trim(0) on a thread of libuv's pool; resolves with whether any memory went back to the system. */
export declare function trim(): Promise<boolean>;
