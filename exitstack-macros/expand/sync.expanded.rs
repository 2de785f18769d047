fn transfer(log: &Log, amount: &str) -> Result<u32, ParseIntError> {
    let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
    let __exitstack_ret = ::exitstack::__private::Ret::<
        Result<u32, ParseIntError>,
    >::new();
    ::exitstack::__private::call_once(
        &__exitstack_ret,
        || {
            #[allow(unused_imports)]
            use defer as _;
            let __exitstack_guard = {
                <_ as ::exitstack::Fallible>::__exitstack_can_fail(__exitstack_ret.ty());
                ::exitstack::__private::Guard::watching(
                    &__exitstack_scope,
                    ::exitstack::__private::When::Error,
                    |_| { log.push("rolled back") },
                )
            };
            #[allow(unused_imports)]
            use defer as _;
            let __exitstack_guard = ::exitstack::__private::Defer::new(|| {
                log.push("unlocked")
            });
            let amount: u32 = match ::exitstack::__private::branch(amount.parse()) {
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
            if amount == 0 {
                return {
                    let __exitstack_value: Result<u32, ParseIntError> = Err(zero());
                    #[allow(unreachable_code)]
                    let __exitstack_returned = {
                        ::exitstack::__private::Observe(&__exitstack_value)
                            .__exitstack_observe(&__exitstack_scope);
                        ::exitstack::__private::returned(__exitstack_value)
                    };
                    __exitstack_returned
                };
            }
            {
                let __exitstack_value: Result<u32, ParseIntError> = Ok(amount);
                #[allow(unreachable_code)]
                let __exitstack_returned = {
                    ::exitstack::__private::Observe(&__exitstack_value)
                        .__exitstack_observe(&__exitstack_scope);
                    ::exitstack::__private::returned(__exitstack_value)
                };
                __exitstack_returned
            }
        },
    )
}
