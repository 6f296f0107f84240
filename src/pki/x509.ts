// The only door to @peculiar/x509: its dependency tsyringe needs the Reflect
// metadata API in place before it is evaluated, and ES modules evaluate their
// imports in source order.
import 'reflect-metadata';
export * from '@peculiar/x509';
