async fn transfer(log: &Log, amount: &str) -> Result<u32, ParseIntError> {
    let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
    let __exitstack_ret = ::exitstack::__private::Ret::<
        Result<u32, ParseIntError>,
    >::new();
    let __exitstack_async = ::exitstack::__private::AsyncScope::send();
    ::exitstack::__private::finish(
        &__exitstack_ret,
        __exitstack_async
            .run(
                &__exitstack_scope,
                async {
                    if false {
                        return ::exitstack::__private::returned(
                            ::exitstack::__private::output(&__exitstack_ret),
                        );
                    }
                    {
                        #[allow(unused_imports)]
                        use defer as _;
                        {
                            let _ = ::exitstack::EntryFor::<
                                ::exitstack::Sendable,
                            >::__async_cleanup(
                                async { send(log, "connection closed").await },
                                &__exitstack_async,
                                ::exitstack::__private::When::Always,
                            );
                        };
                        let _handle = {
                            <_ as ::exitstack::Fallible>::__exitstack_can_fail(
                                __exitstack_ret.ty(),
                            );
                            ::exitstack::EntryFor::<
                                ::exitstack::Sendable,
                            >::__async_cleanup(
                                async { send(log, "rolled back").await },
                                &__exitstack_async,
                                ::exitstack::__private::When::Error,
                            )
                        };
                        let amount: u32 = match ::exitstack::__private::branch(
                            amount.parse(),
                        ) {
                            ::core::ops::ControlFlow::Continue(__exitstack_value) => {
                                __exitstack_value
                            }
                            ::core::ops::ControlFlow::Break(__exitstack_residual) => {
                                return {
                                    let __exitstack_value: Result<u32, ParseIntError> = ::exitstack::__private::residual(
                                        &__exitstack_ret,
                                        move || match __exitstack_residual? {},
                                    );
                                    #[allow(unreachable_code)]
                                    let __exitstack_returned = {
                                        ::exitstack::__private::Observe(&__exitstack_value)
                                            .__exitstack_observe(&__exitstack_scope);
                                        ::exitstack::__private::returned(__exitstack_value)
                                    };
                                    __exitstack_returned
                                };
                            }
                        };
                        {
                            let __exitstack_value: Result<u32, ParseIntError> = Ok(
                                amount,
                            );
                            #[allow(unreachable_code)]
                            let __exitstack_returned = {
                                ::exitstack::__private::Observe(&__exitstack_value)
                                    .__exitstack_observe(&__exitstack_scope);
                                ::exitstack::__private::returned(__exitstack_value)
                            };
                            __exitstack_returned
                        }
                    }
                },
            )
            .await,
    )
}
