export declare const SERVER_NODE_FLAGS: string[];
export declare function withServerNodeOptions(nodeOptions?: string): string;
